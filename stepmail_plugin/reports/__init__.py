"""Step-mail reports in the Wagtail admin: funnel per sequence, A/B results, holdout uplift,
SVG chart, CSV/XLSX export, and the dashboard panel."""
