"""The project's URLs and `POST /bench/bare`: the floor of a Django JSON view in this project.

The bare view goes through the same middleware as every request and parses and answers JSON,
but does nothing else: no key, no schema, no resolver. Never part of the production URLconf.
"""

import json

from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as project_urlpatterns
from core.access import public
from tests.bench import BARE_PATH


@public
@csrf_exempt
def bare_json(request):
    body = json.loads(request.body)
    return JsonResponse({"model": body.get("model"), "eligible": []})


urlpatterns = [path(BARE_PATH.lstrip("/"), bare_json), *project_urlpatterns]
