"""Listening tests: export stimuli for webMUSHRA / crowdsourcing and analyse the ratings.

`export.export_listening_test` builds a blind test from folders of `<id>.wav` files;
`analyze.analyze_results` turns webMUSHRA or crowdsourcing result CSVs plus the private key
into per-system scores with confidence intervals, listener screening and pairwise tests.
"""
