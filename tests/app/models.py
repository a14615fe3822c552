from django.db import models


class Item(models.Model):
    name = models.CharField(max_length=100)
    quantity = models.IntegerField(default=0)
    created = models.DateTimeField(auto_now_add=True)
    at = models.TimeField(null=True)

    def __str__(self):
        return self.name


class Note(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="notes")
    text = models.TextField()
