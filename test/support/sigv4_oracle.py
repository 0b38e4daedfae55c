"""Independent SigV4 oracle for tests: botocore's SigV4Auth at a fixed time.

Reads JSON lines {method, url, headers, body, date, accessKeyId, secretAccessKey, sessionToken?,
region, service} on stdin; writes one JSON line {authorization} per request.
"""
import datetime
import json
import sys

import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

for line in sys.stdin:
    case = json.loads(line)
    fixed = datetime.datetime.strptime(case["date"], "%Y%m%dT%H%M%SZ")
    auth.get_current_datetime = lambda: fixed
    request = AWSRequest(method=case["method"], url=case["url"], data=case["body"].encode("utf-8"), headers=case["headers"])
    credentials = Credentials(case["accessKeyId"], case["secretAccessKey"], case.get("sessionToken"))
    auth.SigV4Auth(credentials, case["service"], case["region"]).add_auth(request)
    print(json.dumps({"authorization": request.headers["Authorization"]}), flush=True)
