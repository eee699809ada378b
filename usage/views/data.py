"""Placeholder while this module is being written; every view answers 404."""

from django.http import Http404

from dashboard.access import public


@public
def _unwritten(request, *args, **kwargs):
    raise Http404("not written yet")


usage_data = usage_export = usage_delete = _unwritten
