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


class Flag(models.Model):
    """Column names holding words the statement classifier looks for: every
    query on this table must still be read as leaving nothing behind."""

    name = models.CharField(max_length=100)
    is_temporary = models.BooleanField(default=False)
    get_lock_count = models.IntegerField(default=0)
    next_value = models.IntegerField(default=0)
