"""Starts a moto server that executes JSONata state machines, for ocflow's emulator tests.

Usage: python launch.py PORT

moto 5.2.5 serves SQS, DynamoDB and Step Functions offline and really executes ASL once
`execute_state_machine` is on. Its JSONata mode needs an evaluator and has a few gaps; this
launcher fills them before the server starts, without touching moto's files:

1. JSONata: moto's hook `_eval_jsonata` is empty; it is set to an evaluator on the PyPI package
   `jsonata-python`, with `$uuid()` and `$hash()` (which that package lacks) registered.
2. Variable bindings: moto writes string variables into the expression unescaped; they are
   JSON-encoded instead, so values with quotes or backslashes survive.
3. StartExecution without a name gives an ARN ending in `:None`; a UUID name is generated, as
   AWS does.
4. The `states:startExecution` integrations (`.sync`, `.sync:2`) pass parameters and read
   responses in ASL's PascalCase while moto's internal client speaks boto's camelCase; both
   directions are converted.
5. SendTaskFailure drops `cause`; it is passed through.
6. A `.waitForTaskToken` task keeps one token across its Retry attempts, so a worker's answer
   to one attempt can complete another; every attempt gets a fresh token, as on AWS.

The server prints `ready` on stdout once it accepts requests.
"""

import hashlib
import json
import os
import sys
import threading
import time
import urllib.request
import uuid

import jsonata as jsonata_python
from moto import settings
from moto.server import ThreadedMotoServer
from moto.stepfunctions import responses as sfn_responses
from moto.stepfunctions.parser import models as parser_models
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_callback as callback_task,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_sfn as sfn_task,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import (
    ResourceCondition,
)
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata
from moto.stepfunctions.parser.asl.utils.encoding import to_json_str


# 1. A JSONata evaluator.
def _hash(value, algorithm="SHA-256"):
    algorithms = {
        "MD5": hashlib.md5,
        "SHA-1": hashlib.sha1,
        "SHA-256": hashlib.sha256,
        "SHA-384": hashlib.sha384,
        "SHA-512": hashlib.sha512,
    }
    return algorithms[algorithm](str(value).encode()).hexdigest()


def eval_jsonata(expression):
    try:
        compiled = jsonata_python.Jsonata(expression)
        compiled.register_lambda("uuid", lambda: str(uuid.uuid4()))
        compiled.register_lambda("hash", _hash)
        return compiled.evaluate(None)
    except Exception as error:  # moto turns this into States.QueryEvaluationError
        if os.environ.get("OCFLOW_MOTO_DEBUG"):
            print(f"jsonata failed: {expression!r}: {error}", file=sys.stderr, flush=True)
        raise moto_jsonata.JSONataException("UNKNOWN", str(error))


moto_jsonata._eval_jsonata = eval_jsonata


# 2. Bindings encoded as JSON.
def encode_declarations(bindings):
    return "".join(
        f"{name}:={to_json_str(value, separators=(',', ':'))};" for name, value in bindings.items()
    )


moto_jsonata.encode_jsonata_variable_declarations = encode_declarations
for module in list(sys.modules.values()):
    if getattr(module, "encode_jsonata_variable_declarations", None) is not None and module is not moto_jsonata:
        try:
            module.encode_jsonata_variable_declarations = encode_declarations
        except (AttributeError, TypeError):
            pass


# 3. A generated name for unnamed executions.
_start_execution = parser_models.StepFunctionsParserBackend.start_execution


def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
    return _start_execution(
        self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header
    )


parser_models.StepFunctionsParserBackend.start_execution = start_execution


# 4. PascalCase <-> camelCase for the startExecution integrations.
def _camel(key):
    return key[:1].lower() + key[1:]


def _pascal(key):
    return key[:1].upper() + key[1:]


_sfn_normalise_parameters = sfn_task.StateTaskServiceSfn._normalise_parameters


def normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
    _sfn_normalise_parameters(self, parameters, boto_service_name, service_action_name)
    for key in list(parameters):
        parameters[_camel(key)] = parameters.pop(key)


def normalise_response(self, response, boto_service_name=None, service_action_name=None):
    if isinstance(response, dict):
        for key in list(response):
            value = response.pop(key)
            if hasattr(value, "isoformat"):
                value = value.isoformat()
            response[_pascal(key)] = value


_eval_service_task = sfn_task.StateTaskServiceSfn._eval_service_task


def eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials):
    _eval_service_task(self, env, resource_runtime_part, normalised_parameters, state_credentials)
    normalise_response(self, env.stack[-1])


sfn_task.StateTaskServiceSfn._normalise_parameters = normalise_parameters
sfn_task.StateTaskServiceSfn._normalise_response = normalise_response
sfn_task.StateTaskServiceSfn._eval_service_task = eval_service_task


# 5. SendTaskFailure keeps its cause.
def send_task_failure(self):
    self.stepfunction_backend.send_task_failure(
        self._get_param("taskToken"), error=self._get_param("error"), cause=self._get_param("cause")
    )
    return sfn_responses.EmptyResult()


sfn_responses.StepFunctionResponse.send_task_failure = send_task_failure


# 6. One task token per attempt.
_callback_eval_execution = callback_task.StateTaskServiceCallback._eval_execution


def eval_execution_with_fresh_token(self, env):
    if (
        self._is_integration_pattern()
        and ResourceCondition.WaitForTaskToken in self._supported_integration_patterns
    ):
        env.callback_pool_manager.add(env.states.context_object.update_task_token())
    _callback_eval_execution(self, env)


callback_task.StateTaskServiceCallback._eval_execution = eval_execution_with_fresh_token


def main():
    port = int(sys.argv[1])
    # moto's internal clients (the service integrations) call back into this server.
    os.environ["MOTO_PORT"] = str(port)
    settings.TEST_SERVER_MODE = False
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    config = json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/moto-api/config", data=config, method="POST",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request).read()
    print("ready", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
