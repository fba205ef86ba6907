"""``manage.py load_demo``: the demo shop's catalogue, step-mail sequences and admin user.

Safe to run again: whatever exists is left as it is.
"""

from django.core.management.base import BaseCommand

from demo.accounts import ADMIN_PASSWORD, ADMIN_USERNAME, HOST, ensure_site_names, ensure_superuser
from demo.catalogue import load_catalogue
from demo.extras import ensure_coupon_template, ensure_pictures, ensure_survey
from demo.pages import ensure_index, ensure_sequence, home_page
from demo.scenarios import SEQUENCES, ShopLinks


class Command(BaseCommand):
    help = "Load the demo catalogue, the step-mail sequences from the seeds and an admin user."

    def handle(self, *args, **options):
        log = self.stdout.write
        log("Staff and sites")
        # First, and in its own transaction: see ensure_superuser.
        admin = ensure_superuser(log)
        ensure_site_names(log)
        log("Catalogue (Oscar)")
        catalogue = load_catalogue(log)
        ensure_pictures(catalogue, log)
        log("Coupon template and survey (for the coupon and survey blocks)")
        ensure_coupon_template(log)
        ensure_survey(home_page(), owner=admin, log=log)
        log("Step mail (Wagtail pages)")
        links = ShopLinks(catalogue)
        index = ensure_index(owner=admin, log=log)
        for spec in SEQUENCES:
            ensure_sequence(index, spec, links, owner=admin, log=log)
        log(self.style.SUCCESS("Demo data ready."))
        log(f"  Wagtail admin: http://{HOST}/cms/   (step mail: ページ > ステップメール)")
        log(f"  Django admin:  http://{HOST}/django-admin/")
        log(f"  Shop:          http://{HOST}/shop/")
        log(f"  Login:         {ADMIN_USERNAME} / {ADMIN_PASSWORD}")
