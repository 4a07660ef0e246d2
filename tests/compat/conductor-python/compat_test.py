"""Conductor's Python SDK (conductor-python), unchanged, against `ocflow serve`.

Usage: python compat_test.py http://127.0.0.1:PORT/api

Registers a workflow with one SIMPLE task through the SDK's workflow executor, starts it with
the workflow client (by name, with a StartWorkflowRequest, and as ConductorWorkflow starts it,
with the definition inline), lets a TaskHandler worker poll and complete the tasks, and checks
what the client then sees; then completes a HUMAN task by reference name. Exits non-zero with a
message naming the first mismatch.
"""

import sys
import time

from conductor.client.automator.task_handler import TaskHandler
from conductor.client.configuration.configuration import Configuration
from conductor.client.http.models.start_workflow_request import StartWorkflowRequest
from conductor.client.orkes_clients import OrkesClients
from conductor.client.worker.worker_task import worker_task
from conductor.client.workflow.conductor_workflow import ConductorWorkflow
from conductor.client.workflow.task.human_task import HumanTask
from conductor.client.workflow.task.simple_task import SimpleTask

WORKFLOW = "ocflow_python_compat"
INLINE_WORKFLOW = "ocflow_python_inline"
HUMAN_WORKFLOW = "ocflow_python_review"
TASK_TYPE = "ocflow_python_greet"
DEADLINE_SECONDS = 20


@worker_task(
    task_definition_name=TASK_TYPE,
    poll_interval_millis=100,
    worker_id="ocflow-compat-worker",
    register_task_def=True,
)
def greet(name: str) -> dict:
    """The worker: greets the name it is given."""
    return {"greeting": f"Hello, {name}", "length": len(name)}


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def wait_until_completed(workflow_client, workflow_id):
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        workflow = workflow_client.get_workflow(workflow_id, include_tasks=True)
        if workflow.status != "RUNNING":
            return workflow
        if time.monotonic() > deadline:
            raise AssertionError(
                f"workflow {workflow_id} still RUNNING after {DEADLINE_SECONDS} s "
                f"(tasks: {[(t.reference_task_name, t.status) for t in workflow.tasks or []]})"
            )
        time.sleep(0.1)


def check_completed(workflow_client, workflow_id, name, want):
    """The workflow completed with the worker's output `want` for input `name`."""
    workflow = wait_until_completed(workflow_client, workflow_id)
    check(
        workflow.status == "COMPLETED",
        f"workflow {workflow_id}: status {workflow.status}, expected COMPLETED "
        f"(reason: {workflow.reason_for_incompletion})",
    )
    want_output = {"greeting": want["greeting"]}
    check(
        workflow.output == want_output,
        f"workflow {workflow_id}: output {workflow.output}, expected {want_output}",
    )
    check(workflow.input == {"name": name}, f"workflow {workflow_id}: input {workflow.input}")
    tasks = [t for t in workflow.tasks or [] if t.reference_task_name == "greet_ref"]
    check(len(tasks) == 1, f"workflow {workflow_id}: tasks {workflow.tasks}, want one greet_ref")
    task = tasks[0]
    check(task.status == "COMPLETED", f"task greet_ref: status {task.status}, expected COMPLETED")
    check(task.task_type == TASK_TYPE, f"task greet_ref: type {task.task_type}, want {TASK_TYPE}")
    check(task.output_data == want, f"task greet_ref: output {task.output_data}, expected {want}")
    check(task.input_data == {"name": name}, f"task greet_ref: input {task.input_data}")
    status = workflow_client.get_workflow_status(workflow_id, include_output=True)
    check(status.status == "COMPLETED", f"workflow {workflow_id}: /status says {status.status}")
    check(
        status.output == want_output,
        f"workflow {workflow_id}: /status output {status.output}, expected {want_output}",
    )
    print(f"ok: {workflow_id} COMPLETED with {workflow.output}")


def check_human_task(executor, workflow_client):
    """A HUMAN task is completed by reference name, and the client gets the workflow back."""
    review = ConductorWorkflow(executor=executor, name=HUMAN_WORKFLOW, version=1)
    review.add(HumanTask(task_ref_name="approve"))
    review.output_parameters({"approved": "${approve.output.approved}"})
    review.register(overwrite=True)
    workflow_id = workflow_client.start_workflow_by_name(HUMAN_WORKFLOW, {}, version=1)
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not workflow_client.get_workflow(workflow_id, include_tasks=True).tasks:
        check(time.monotonic() < deadline, f"workflow {workflow_id}: approve never pending")
        time.sleep(0.05)
    workflow = executor.update_task_by_ref_name_sync(
        {"approved": True}, workflow_id, "approve", "COMPLETED"
    )
    check(
        workflow.status == "COMPLETED" and workflow.output == {"approved": True},
        f"workflow {workflow_id} after the HUMAN task: {workflow.status} {workflow.output}",
    )
    print(f"ok: {workflow_id} COMPLETED through its HUMAN task")


def greeting_workflow(executor, name):
    """A workflow of one SIMPLE task, greet_ref, whose greeting is the workflow's output."""
    workflow = ConductorWorkflow(executor=executor, name=name, version=1)
    task = SimpleTask(task_def_name=TASK_TYPE, task_reference_name="greet_ref")
    task.input_parameter("name", "${workflow.input.name}")
    workflow.add(task)
    workflow.output_parameters({"greeting": "${greet_ref.output.greeting}"})
    return workflow


def main(server_api_url):
    configuration = Configuration(server_api_url=server_api_url)
    clients = OrkesClients(configuration=configuration)
    executor = clients.get_workflow_executor()
    workflow_client = clients.get_workflow_client()

    workflow = greeting_workflow(executor, WORKFLOW)
    workflow.register(overwrite=True)
    print(f"ok: registered {WORKFLOW}")

    with TaskHandler(configuration=configuration, scan_for_annotated_workers=True) as handler:
        handler.start_processes()

        first = workflow_client.start_workflow_by_name(WORKFLOW, {"name": "Ada"}, version=1)
        check(isinstance(first, str) and first, f"start answered {first!r}, expected a workflow id")
        print(f"ok: started {first}")
        check_completed(workflow_client, first, "Ada", {"greeting": "Hello, Ada", "length": 3})

        request = StartWorkflowRequest(name=WORKFLOW, version=1, input={"name": "Grace"},
                                       correlation_id="compat-2")
        second = workflow_client.start_workflow(request)
        check(second and second != first, f"second start answered {second!r}")
        check_completed(
            workflow_client, second, "Grace", {"greeting": "Hello, Grace", "length": 5}
        )
        found = workflow_client.get_workflow(second, include_tasks=False)
        check(found.correlation_id == "compat-2", f"correlation id {found.correlation_id}")

        # ConductorWorkflow starts send the definition inline, registered or not.
        third = workflow.start_workflow_with_input({"name": "Lin"})
        check_completed(workflow_client, third, "Lin", {"greeting": "Hello, Lin", "length": 3})
        inline = greeting_workflow(executor, INLINE_WORKFLOW)
        fourth = inline.start_workflow_with_input({"name": "Ida"})
        check_completed(workflow_client, fourth, "Ida", {"greeting": "Hello, Ida", "length": 3})

    check_human_task(executor, workflow_client)

    # The worker registered its task definition on start (register_task_def=True).
    task_def = clients.get_metadata_client().get_task_def(TASK_TYPE)
    check(task_def.name == TASK_TYPE, f"task definition {task_def}")

    print("conductor-python compatibility: all checks passed")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: compat_test.py http://127.0.0.1:PORT/api")
    try:
        main(sys.argv[1])
    except AssertionError as e:
        sys.exit(f"conductor-python compatibility: FAILED: {e}")
