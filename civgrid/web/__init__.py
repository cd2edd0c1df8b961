"""The web application: app factory, layout, templates, static files, i18n."""
