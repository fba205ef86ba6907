"""The editor's loop in the Wagtail admin: preview with real data, time travel, test send,
ready-made sequences, and copying a sequence.

Every view checks the user's permission on the page it concerns (edit for previews and test
sends, add for new sequences, edit on the sequence and add on the destination for copies);
seeing a real customer's mail also needs ``view_enrollment``.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.generic import FormView, TemplateView
from wagtail import hooks
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.models import Page

from ..models import Enrollment, SequenceIndexPage, SequencePage, StepEmailPage
from ..rendering import brand as brand_module
from ..rendering.batch import Mode
from ..rendering.merge import MergeSyntaxError
from ..rendering.preview import WIDTHS
from ..rendering.single import render_single
from ..triggers.registry import registry
from .blueprints import (
    BLUEPRINTS,
    BlueprintUnavailable,
    create_from_blueprint,
    get_blueprint,
)
from .copying import copy_parents, copy_sequence, copy_title
from .forms import BlueprintForm, CopySequenceForm, TestSendForm
from .samples import enrollment_sample, sample_for, sequence_of
from .testsend import send_tests
from .validation import step_warnings

ENROLLMENT_PERMISSION = "stepmail.view_enrollment"


def _editable(page, user):
    if not page.permissions_for_user(user).can_edit():
        raise PermissionDenied
    return page


class StepPreviewView(WagtailAdminTemplateMixin, TemplateView):
    """A step as it goes out: the sample, or a chosen enrollment at its due time ("time travel")."""

    template_name = "stepmail/editor/step_preview.html"
    header_icon = "mail"
    page_title = pgettext_lazy("stepmail", "Preview")

    def dispatch(self, request, *args, **kwargs):
        self.step = _editable(get_object_or_404(StepEmailPage, pk=kwargs["step_id"]), request.user)
        self.sequence = sequence_of(self.step)
        self.can_see_customers = request.user.has_perm(ENROLLMENT_PERMISSION)
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.step.get_admin_display_title()

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("wagtailadmin_pages:edit", args=[self.step.pk]),
             "label": self.step.get_admin_display_title()},
            {"url": "", "label": pgettext("stepmail", "Preview")},
        ]

    def get(self, request, *args, **kwargs):
        if request.GET.get("enrollment") and not self.can_see_customers:
            raise PermissionDenied
        context = self.get_context_data(**kwargs)
        if context["mode"] == "raw":
            single = context.get("single")
            return HttpResponse(single.mail.html if single else "")
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        request = self.request
        mode = request.GET.get("mode", "html")
        if mode not in ("html", "mobile", "text", "raw"):
            mode = "html"
        default = "latest" if self.step.has_unpublished_changes or not self.step.live else "live"
        revision = request.GET.get("revision") or default
        step = self.step if revision == "live" else self.step.get_latest_revision_as_object()
        enrollment = None
        if request.GET.get("enrollment") and self.sequence is not None:
            if not request.GET["enrollment"].isdigit():
                raise Http404
            enrollment = get_object_or_404(
                Enrollment.objects.select_related("contact", "sequence"),
                pk=request.GET["enrollment"], sequence_id=self.sequence.pk,
            )
            sample = enrollment_sample(step, enrollment)
        else:
            sample = sample_for(step, request.user, sequence=self.sequence)
        single, errors, warnings = None, [], []
        try:
            single = render_single(step, sample.recipient, mode=Mode.PREVIEW, now=sample.due_at)
        except MergeSyntaxError as error:
            errors = error.messages
        if single is not None and mode != "raw":
            warnings = step_warnings(step, request.user, sequence=self.sequence)
        query = request.GET.get("q", "").strip()
        enrollments = []
        if self.can_see_customers and self.sequence is not None:
            found = Enrollment.objects.filter(sequence_id=self.sequence.pk).select_related("contact")
            if query:
                found = found.filter(Q(contact__email__icontains=query) | Q(contact__last_name__icontains=query))
            enrollments = list(found.order_by("-anchor_at")[:20])
        params = {k: v for k, v in request.GET.items() if k != "mode"}
        context.update(
            step=self.step,
            sequence=self.sequence,
            mode=mode,
            revision=revision,
            sample=sample,
            single=single,
            errors=errors,
            warnings=warnings,
            width=WIDTHS.get(mode, WIDTHS["html"]),
            enrollment=enrollment,
            enrollments=enrollments,
            query=query,
            can_see_customers=self.can_see_customers,
            params=params,
            raw_url=request.path + "?" + _urlencode({**params, "mode": "raw"}),
            test_send_url=reverse("stepmail_editor:test_send_step", args=[self.step.pk]),
        )
        return context


def _urlencode(params):
    from urllib.parse import urlencode

    return urlencode(params)


class TestSendView(WagtailAdminTemplateMixin, FormView):
    """Send a step, or every step of a sequence, to the editor (or a typed address) as a test."""

    template_name = "stepmail/editor/test_send.html"
    form_class = TestSendForm
    header_icon = "mail"
    page_title = gettext_lazy("Test send")

    def dispatch(self, request, *args, **kwargs):
        if "sequence_id" in kwargs:
            self.page = _editable(get_object_or_404(SequencePage, pk=kwargs["sequence_id"]), request.user)
            self.sequence = self.page
            self.steps = list(self.page.get_steps())
        else:
            self.page = _editable(get_object_or_404(StepEmailPage, pk=kwargs["step_id"]), request.user)
            self.sequence = sequence_of(self.page)
            self.steps = [self.page]
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.page.get_admin_display_title()

    def get_breadcrumbs_items(self):
        return self.breadcrumbs_items + [
            {"url": reverse("wagtailadmin_pages:edit", args=[self.page.pk]),
             "label": self.page.get_admin_display_title()},
            {"url": "", "label": _("Test send")},
        ]

    def get_initial(self):
        return {"email": self.request.user.email}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            page=self.page, steps=self.steps, edit_url=reverse("wagtailadmin_pages:edit", args=[self.page.pk])
        )
        return context

    def form_valid(self, form):
        results = send_tests(self.steps, self.request.user, form.cleaned_data["email"], sequence=self.sequence)
        sent = [r for r in results if r.outcome.ok]
        failed = [r for r in results if not r.outcome.ok]
        if sent:
            messages.success(
                self.request,
                _("Sent %(count)d test mail(s) to %(email)s.")
                % {"count": len(sent), "email": form.cleaned_data["email"]},
            )
        for result in failed:
            messages.error(
                self.request,
                _("“%(title)s” could not be sent: %(error)s")
                % {"title": result.step.title, "error": result.outcome.error},
            )
        if not self.steps:
            messages.warning(self.request, _("This sequence has no steps yet."))
        return redirect(reverse("wagtailadmin_pages:edit", args=[self.page.pk]))


def _addable_parents(user):
    parents = [p for p in SequenceIndexPage.objects.all() if p.permissions_for_user(user).can_add_subpage()]
    return SequenceIndexPage.objects.filter(pk__in=[p.pk for p in parents])


class BlueprintsView(WagtailAdminTemplateMixin, TemplateView):
    """The ready-made sequences; POST creates one as drafts and opens it."""

    template_name = "stepmail/editor/blueprints.html"
    header_icon = "mail"
    page_title = gettext_lazy("Ready-made sequences")

    def get_breadcrumbs_items(self):
        # Without an item of its own, the header would only say "Home".
        return self.breadcrumbs_items + [{"url": "", "label": self.get_page_title()}]

    def dispatch(self, request, *args, **kwargs):
        self.parents = _addable_parents(request.user)
        if not self.parents.exists() and not request.user.is_superuser:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # The admin's language (Wagtail activates the user's preferred language for admin views;
        # request.LANGUAGE_CODE is only the browser's).
        language = "ja" if (get_language() or "ja").startswith("ja") else "en"
        context["blueprints"] = [
            {
                "blueprint": blueprint,
                "title": blueprint.title[language],
                "description": blueprint.description[language],
                "available": blueprint.is_available(),
                # The trigger's name as the sequence page's trigger field shows it ("注文完了").
                "trigger_label": getattr(registry.find(blueprint.trigger), "label", ""),
                "form": kwargs.get("forms", {}).get(blueprint.key)
                or BlueprintForm(initial={"blueprint": blueprint.key}, parents=self.parents, prefix=blueprint.key),
            }
            for blueprint in BLUEPRINTS
        ]
        context["has_parents"] = self.parents.exists()
        return context

    def post(self, request, *args, **kwargs):
        key = request.POST.get("blueprint", "")
        try:
            blueprint = get_blueprint(key)
        except LookupError:
            messages.error(request, _("Unknown template."))
            return redirect("stepmail_editor:blueprints")
        form = BlueprintForm(request.POST, parents=self.parents, prefix=blueprint.key)
        form.fields["blueprint"].required = False
        form.fields["form_page"].required = blueprint.uses_form_page
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(forms={blueprint.key: form}))
        parent = form.cleaned_data["parent"]
        if not parent.permissions_for_user(request.user).can_add_subpage():
            raise PermissionDenied
        try:
            sequence = create_from_blueprint(
                blueprint,
                parent,
                form.cleaned_data["language"],
                user=request.user,
                shop_url=brand_module.base_url() + "/",
                voucher_template=form.cleaned_data.get("voucher_template"),
                survey_page=form.cleaned_data.get("survey_page"),
                form_page=form.cleaned_data.get("form_page") if blueprint.uses_form_page else None,
            )
        except BlueprintUnavailable as error:
            messages.error(request, str(error))
            return redirect("stepmail_editor:blueprints")
        messages.success(
            request,
            _("“%(title)s” was created as a draft with %(count)d steps. Review each step, preview, "
              "test-send and publish.") % {"title": sequence.title, "count": len(blueprint.steps)},
        )
        return redirect(reverse("wagtailadmin_explore", args=[sequence.pk]))


class CopySequenceView(WagtailAdminTemplateMixin, FormView):
    """Copy a sequence with all its steps as drafts: GET shows what is copied and asks for the new
    title and folder, POST copies (Wagtail's copy action) and opens the copy."""

    template_name = "stepmail/editor/copy_sequence.html"
    form_class = CopySequenceForm
    header_icon = "copy"
    page_title = gettext_lazy("Copy sequence")

    def dispatch(self, request, *args, **kwargs):
        self.sequence = get_object_or_404(SequencePage, pk=kwargs["sequence_id"])
        if not self.sequence.permissions_for_user(request.user).can_copy():
            raise PermissionDenied
        self.parents = copy_parents(self.sequence, request.user)
        if not self.parents:
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_page_subtitle(self):
        return self.sequence.get_admin_display_title()

    def get_breadcrumbs_items(self):
        # The visible header is the breadcrumb trail; without these items it read only "Home".
        return self.breadcrumbs_items + [
            {"url": reverse("wagtailadmin_pages:edit", args=[self.sequence.pk]),
             "label": self.sequence.get_admin_display_title()},
            {"url": "", "label": _("Copy sequence")},
        ]

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "parents": self.parents}

    def get_initial(self):
        parent = self.sequence.get_parent()
        return {
            "title": copy_title(self.sequence),
            "parent": parent.pk if any(p.pk == parent.pk for p in self.parents) else self.parents[0].pk,
        }

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            sequence=self.sequence,
            steps=list(self.sequence.get_steps()),
            edit_url=reverse("wagtailadmin_pages:edit", args=[self.sequence.pk]),
        )
        return context

    def form_valid(self, form):
        data = form.cleaned_data
        # Wagtail's copy action checks again that the user may add pages in the chosen folder.
        copy = copy_sequence(
            self.sequence, data["parent"], title=data["title"], slug=data["slug"], user=self.request.user
        )
        for fn in hooks.get_hooks("after_copy_page"):
            result = fn(self.request, self.sequence, copy)
            if hasattr(result, "status_code"):
                return result
        messages.success(
            self.request,
            _("“%(title)s” was copied with its %(count)d steps, as drafts. Customers and statistics "
              "of the original were not copied. Review the copy, then publish the sequence and "
              "its steps.") % {"title": copy.title, "count": copy.get_steps().count()},
        )
        return redirect(reverse("wagtailadmin_explore", args=[copy.pk]))


def redirect_sequence_copy(request, page):
    """``before_copy_page``: Wagtail's generic "Copy" of a sequence leads to "Copy sequence", which
    always copies the steps, never publishes the copy and never makes an alias (an alias of a
    live sequence would be live too, and enroll everyone twice)."""
    if page_is(page, SequencePage):
        return redirect(reverse("stepmail_editor:copy_sequence", args=[page.pk]))
    return None


def page_is(page: Page, model) -> bool:
    """Whether ``page`` (maybe not specific) is of ``model``, without loading the specific page."""
    return issubclass(page.specific_class or Page, model)
