"""The operator's views in the Wagtail admin: contacts, enrollments, deliveries, suppressions.

``modeladmin`` is the only module that knows wagtail-modeladmin; ``views`` holds plain Django
views for the staff actions; ``actions`` the state changes those views make. Registered from
``stepmail_plugin.wagtail_hooks``.

Keep this package's ``__init__`` free of imports: ``django.contrib.admin`` autodiscovery imports
``<app>.admin`` for every installed app.
"""
