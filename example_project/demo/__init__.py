"""Demo data for the example shop (catalogue, step-mail sequences, admin) and a time-travel
simulation of the apparel after-purchase scenario."""
