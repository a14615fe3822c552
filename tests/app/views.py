from django.http import JsonResponse

from .models import Item


def items(request):
    return JsonResponse({"count": Item.objects.count()})
