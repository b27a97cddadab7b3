"""``kg serve``: a read-only SPARQL 1.1 Protocol endpoint over the built dataset.

:mod:`kg.serve.state` holds the dataset and the query workers (:class:`ServeState`),
:mod:`kg.serve.app` the web application (:func:`create_app`), :mod:`kg.serve.workers` the worker
processes that run queries under a deadline, :mod:`kg.serve.formats` the result formats.
"""
