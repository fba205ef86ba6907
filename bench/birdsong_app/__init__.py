"""The wagtail-birdsong side of the comparison: a campaign with the same content as the bench's
step, set up the way birdsong's README tells a project to (a Campaign subclass with a StreamField
body, an extended Contact with names, an MJML template)."""
