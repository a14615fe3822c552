from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('app', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='Flag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=100)),
                ('is_temporary', models.BooleanField(default=False)),
                ('get_lock_count', models.IntegerField(default=0)),
                ('next_value', models.IntegerField(default=0)),
            ],
        ),
    ]
