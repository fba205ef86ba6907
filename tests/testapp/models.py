"""A real Wagtail form page (wagtail.contrib.forms), as a host site would have for 資料請求."""

from django.db import models
from modelcluster.fields import ParentalKey
from wagtail.contrib.forms.models import AbstractEmailForm, AbstractFormField


class FormField(AbstractFormField):
    page = ParentalKey("FormPage", on_delete=models.CASCADE, related_name="form_fields")


class FormPage(AbstractEmailForm):
    pass


class WebinarAttendance(models.Model):
    """A host project's own record of a moment (for a custom trigger)."""

    email = models.EmailField()
    ended_at = models.DateTimeField()
