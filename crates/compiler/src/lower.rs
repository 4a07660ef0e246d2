//! Lowering: a Conductor task tree into ASL states.
//!
//! Task lists compile back to front, each task given where to go next ([`Exit`]), so every
//! state knows its successor when it is built and no fix-up pass is needed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::rc::Rc;

use indexmap::IndexMap;
use ocflow_asl::{
    Branch, Catcher, ChoiceRule, ItemProcessor, JsonataOr, MapState, ParallelState, PassState,
    State, StateMachine, TaskState, Transition, WaitState, jsonata,
};
use ocflow_dsl::model::{
    InlineWorkflow, TaskType, WorkflowDef, WorkflowTask, WorkflowTimeoutPolicy,
};
use ocflow_dsl::params::{Param, Root};
use ocflow_protocol::payload::{ScriptKind, ScriptRequest};
use ocflow_protocol::task_map::{JoinTask, StateTask, TaskMap};
use ocflow_protocol::{errors, placeholders};
use serde_json::{Map, Value, json};

use crate::names::{StateNames, sanitize, variable};
use crate::policy::{Retryable, parse_duration, parse_until, retriers};
use crate::refs::{self, Lookup, TASK_ID, TaskData, WorkflowFacts};
use crate::{CompileEnv, CompileError, CompiledWorkflow, js_condition};

/// Where control goes after a task.
#[derive(Debug, Clone)]
enum Exit {
    /// The named state of the same scope.
    Next(String),
    /// The scope ends: the machine, a Parallel branch or a Map iteration.
    End,
}

/// What a scope returns when it ends.
#[derive(Debug, Clone)]
enum EndOutput {
    /// The machine: `outputParameters`, else the last task's output.
    Workflow,
    /// A Parallel branch: the data of these tasks, by reference, for the Parallel to re-publish.
    Branch(Vec<String>),
    /// A dynamic fork iteration: `{<ref>: {output}}` built by the iteration's task state.
    Iteration,
}

/// States of one scope under construction.
struct ScopeBuf {
    states: Vec<(String, State)>,
    /// Pointers of the fork branches from the machine down to this scope.
    path: Vec<String>,
    end: EndOutput,
    /// The lazily created Succeed state that ends this scope for states that cannot `End`.
    collector: Option<String>,
}

impl ScopeBuf {
    fn new(path: Vec<String>, end: EndOutput) -> Self {
        ScopeBuf {
            states: Vec::new(),
            path,
            end,
            collector: None,
        }
    }

    fn push(&mut self, name: String, state: impl Into<State>) {
        self.states.push((name, state.into()));
    }

    fn into_states(self) -> IndexMap<String, State> {
        // Built back to front: reverse so that the document reads in execution order.
        self.states.into_iter().rev().collect()
    }
}

/// What analysis learns before lowering: where tasks live and what their variables are.
#[derive(Default)]
struct Shared {
    /// Task reference → the fork branches (pointers) enclosing its state.
    homes: HashMap<String, Vec<String>>,
    /// Task reference → variable base name (unique per machine).
    variables: HashMap<String, String>,
    /// What `${workflow.*}` references read.
    workflow: WorkflowFacts,
    /// The initial `variables` as a JSONata literal.
    initial_variables: String,
}

impl Shared {
    /// The variable of `reference` at scope depth `depth` (0: the machine).
    fn var_at(&self, reference: &str, depth: usize) -> String {
        let base = self
            .variables
            .get(reference)
            .cloned()
            .unwrap_or_else(|| variable(reference));
        if depth == 0 {
            base
        } else {
            format!("{base}__{depth}")
        }
    }
}

/// Resolves references for one state.
struct Look {
    shared: Rc<Shared>,
    path: Vec<String>,
    /// The machine's first state: `$vars` is not assigned yet, so the initial values are read.
    first: bool,
    /// Task data that is not (yet) in a variable: the state's own result, a Parallel's result.
    overrides: HashMap<String, TaskData>,
    /// The variables as the state's own `Assign` leaves them (a SET_VARIABLE that ends the
    /// workflow), for its `Output`, which reads variables before the assignment.
    variables_after: Option<String>,
}

impl Lookup for Look {
    fn workflow(&self) -> &WorkflowFacts {
        &self.shared.workflow
    }

    fn variables(&self) -> String {
        if let Some(after) = &self.variables_after {
            after.clone()
        } else if self.first {
            self.shared.initial_variables.clone()
        } else {
            "$vars".to_owned()
        }
    }

    fn task(&self, reference: &str) -> Option<TaskData> {
        if let Some(data) = self.overrides.get(reference) {
            return Some(data.clone());
        }
        let home = self.shared.homes.get(reference)?;
        let common = home
            .iter()
            .zip(&self.path)
            .take_while(|(a, b)| a == b)
            .count();
        Some(TaskData::Data(format!(
            "${}",
            self.shared.var_at(reference, common)
        )))
    }
}

/// The data a compiled leaf state produces.
struct Leaf {
    state: State,
    /// JSONata for the task's output, valid in the state's `Output`/`Assign`.
    result: String,
    /// Whether the state's `Output` must be set to `result` (Task results that are not the
    /// output as they are, such as a Lambda response around its `Payload`).
    shape_output: bool,
}

pub(crate) struct Compiler<'a> {
    env: &'a CompileEnv,
    def: &'a WorkflowDef,
    machine_name: String,
    names: StateNames,
    pub(crate) errors: Vec<CompileError>,
    task_map: TaskMap,
    children: BTreeMap<String, CompiledWorkflow>,
    /// Task references whose data some expression reads.
    referenced: HashSet<String>,
    shared: Rc<Shared>,
    loops: Vec<String>,
    /// Workflows being compiled above this one (cycle guard for inline children).
    ancestors: Vec<String>,
    uses_vars: bool,
    /// The state that starts the failure workflow, when the definition names one.
    failure_handler: Option<String>,
}

impl<'a> Compiler<'a> {
    pub(crate) fn new(
        def: &'a WorkflowDef,
        env: &'a CompileEnv,
        machine_name: String,
        ancestors: Vec<String>,
    ) -> Self {
        Compiler {
            env,
            def,
            machine_name,
            names: StateNames::default(),
            errors: Vec::new(),
            task_map: TaskMap {
                workflow_name: def.name.clone(),
                workflow_version: u32::try_from(def.version()).unwrap_or(1),
                states: BTreeMap::new(),
            },
            children: BTreeMap::new(),
            referenced: HashSet::new(),
            shared: Rc::new(Shared::default()),
            loops: Vec::new(),
            ancestors,
            uses_vars: false,
            failure_handler: None,
        }
    }

    /// Compiles the whole definition.
    pub(crate) fn compile(mut self) -> Result<CompiledWorkflow, Vec<CompileError>> {
        let def = self.def;
        if def.tasks.is_empty() {
            return Err(vec![CompileError::invalid(
                "a workflow needs at least one task",
                "/tasks",
            )]);
        }
        self.analyse();
        let mut top = ScopeBuf::new(Vec::new(), EndOutput::Workflow);
        // The first state assigns the initial `vars`; a Parallel or Map cannot (its Assign runs
        // after its branches), so a `Start` Pass does it there.
        let needs_start = self.uses_vars
            && def.tasks.first().is_some_and(|t| {
                matches!(
                    t.task_type(),
                    TaskType::ForkJoin | TaskType::ForkJoinDynamic
                )
            });
        let failure_workflow = def
            .failure_workflow
            .clone()
            .filter(|name| !name.trim().is_empty());
        if failure_workflow.is_some() {
            self.failure_handler = Some(self.names.allocate("StartFailureWorkflow"));
        }
        let exit = self.permissive_check(&def.tasks, &mut top);
        let entry = self.compile_list(&def.tasks, "/tasks", &mut top, exit, !needs_start);
        let start = if !needs_start {
            entry
        } else {
            let name = self.names.allocate("Start");
            let pass = PassState {
                assign: Some(Value::Object(self.initial_assign())),
                transition: Some(Transition::Next(entry)),
                ..PassState::default()
            };
            top.push(name.clone(), pass);
            name
        };
        let mut machine = StateMachine::new(start);
        machine.comment = Some(match &def.description {
            Some(d) => format!("{} v{}: {d}", def.name, def.version()),
            None => format!("{} v{}", def.name, def.version()),
        });
        machine.states = top.into_states();
        // Tasks after a TERMINATE, or after a SWITCH whose every case terminates, never run.
        for removed in prune_unreachable(&machine.start_at, &mut machine.states) {
            self.task_map.states.remove(&removed);
        }
        if let (Some(workflow), Some(handler)) = (failure_workflow, self.failure_handler.clone()) {
            self.add_failure_path(&workflow, &handler, &mut machine.states);
        }
        if def.timeout_policy() == WorkflowTimeoutPolicy::TimeOutWf && def.timeout_seconds() > 0 {
            machine.timeout_seconds = u64::try_from(def.timeout_seconds()).ok();
        }
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        Ok(CompiledWorkflow {
            name: self.machine_name,
            machine,
            task_map: self.task_map,
            children: self.children,
        })
    }

    // ---- analysis ------------------------------------------------------------------------

    /// Finds which task data is read, and where each task's state lives.
    fn analyse(&mut self) {
        let def = self.def;
        let mut params: Vec<Param> = Vec::new();
        if let Some(out) = &def.output_parameters {
            params.push(Param::parse(&Value::Object(out.clone())));
        }
        for at in def.walk() {
            let task = at.task;
            params.push(Param::parse(&Value::Object(task.inputs().clone())));
            let t = task.task_type();
            if matches!(t, TaskType::DoWhile) {
                // The loop output records every body task.
                for inner in ocflow_dsl_walk(task.loop_body()) {
                    self.referenced.insert(inner.task_reference_name.clone());
                }
                self.referenced.insert(task.task_reference_name.clone());
                mark_script_refs(task.loop_condition.as_deref(), &mut self.referenced);
            }
            if matches!(t, TaskType::Switch | TaskType::Decision) {
                mark_script_refs(task.expression.as_deref(), &mut self.referenced);
                mark_script_refs(task.case_expression.as_deref(), &mut self.referenced);
            }
            if matches!(t, TaskType::Inline | TaskType::Lambda) {
                let script = task.inputs().get("expression").and_then(Value::as_str);
                mark_script_refs(
                    script.or(task.script_expression.as_deref()),
                    &mut self.referenced,
                );
            }
        }
        for param in &params {
            for reference in param.references() {
                match reference.root() {
                    Some(Root::Task(name)) => {
                        self.referenced.insert(name);
                    }
                    Some(Root::Workflow)
                        if reference
                            .text
                            .trim_start()
                            .starts_with("workflow.variables") =>
                    {
                        self.uses_vars = true;
                    }
                    _ => {}
                }
            }
        }
        // A referenced JOIN reads the tasks it joins.
        for at in def.walk() {
            let task = at.task;
            if matches!(task.task_type(), TaskType::Join | TaskType::ExclusiveJoin)
                && self.referenced.contains(&task.task_reference_name)
            {
                for r in task.join_refs() {
                    self.referenced.insert(r.clone());
                }
                for r in task.default_exclusive_join_task.iter().flatten() {
                    self.referenced.insert(r.clone());
                }
            }
            if matches!(task.task_type(), TaskType::SetVariable) {
                self.uses_vars = true;
            }
        }
        if def.variables.as_ref().is_some_and(|v| !v.is_empty()) {
            self.uses_vars = true;
        }
        let mut shared = Shared {
            workflow: WorkflowFacts {
                name: def.name.clone(),
                version: def.version(),
                input_template: def.input_template.clone().unwrap_or_default(),
            },
            initial_variables: refs::literal(&Value::Object(
                def.variables.clone().unwrap_or_default(),
            )),
            ..Shared::default()
        };
        let mut taken: HashSet<String> = HashSet::new();
        for at in def.walk() {
            let r = &at.task.task_reference_name;
            if shared.variables.contains_key(r) {
                continue;
            }
            shared.homes.insert(r.clone(), branch_path(&at.pointer));
            let base = variable(r);
            let mut name = base.clone();
            let mut n = 1;
            while !taken.insert(name.clone()) {
                n += 1;
                name = format!("{base}_{n}");
            }
            shared.variables.insert(r.clone(), name);
        }
        self.shared = Rc::new(shared);
    }

    /// The variable of `reference` at scope depth `depth` (0: the machine).
    fn var_at(&self, reference: &str, depth: usize) -> String {
        self.shared.var_at(reference, depth)
    }

    /// The first state's extra `Assign` members: the initial `vars`, when the workflow uses them.
    fn initial_assign(&self) -> Map<String, Value> {
        let mut assign = Map::new();
        if self.uses_vars {
            let vars = self.def.variables.clone().unwrap_or_default();
            assign.insert("vars".into(), refs::escape_literal(&Value::Object(vars)));
        }
        assign
    }

    fn look(&self, scope: &ScopeBuf, first: bool) -> Look {
        Look {
            shared: Rc::clone(&self.shared),
            path: scope.path.clone(),
            first,
            overrides: HashMap::new(),
            variables_after: None,
        }
    }

    fn param_template(&mut self, value: &Value, look: &Look, pointer: &str) -> Value {
        match refs::template(&Param::parse(value), look) {
            Ok(v) => v,
            Err(e) => {
                self.errors.push(CompileError::unsupported(e.0, pointer));
                Value::Null
            }
        }
    }

    fn param_expr(&mut self, value: &Value, look: &Look, pointer: &str) -> String {
        match refs::expression(&Param::parse(value), look) {
            Ok(v) => v,
            Err(e) => {
                self.errors.push(CompileError::unsupported(e.0, pointer));
                "null".to_owned()
            }
        }
    }

    /// The state an exit names, creating the scope's collector for [`Exit::End`].
    fn target(&mut self, scope: &mut ScopeBuf, exit: &Exit) -> String {
        match exit {
            Exit::Next(name) => name.clone(),
            Exit::End => {
                if let Some(name) = &scope.collector {
                    return name.clone();
                }
                let name = self.names.allocate("Done");
                let look = self.look(scope, false);
                let output = self.end_output(scope, &look, "$states.input");
                let state = State::Succeed(ocflow_asl::SucceedState {
                    output: Some(output),
                    ..Default::default()
                });
                scope.push(name.clone(), state);
                scope.collector = Some(name.clone());
                name
            }
        }
    }

    /// The output of a scope that ends, `last` being the last task's output.
    fn end_output(&mut self, scope: &ScopeBuf, look: &Look, last: &str) -> Value {
        match &scope.end {
            EndOutput::Workflow => match &self.def.output_parameters {
                Some(out) => {
                    self.param_template(&Value::Object(out.clone()), look, "/outputParameters")
                }
                None => Value::String(refs::wrap(last)),
            },
            EndOutput::Branch(exports) => {
                let mut out = Map::new();
                for r in exports {
                    let data = match look.task(r) {
                        Some(TaskData::Data(var)) => refs::guarded(&var),
                        // The state's own result: an object constructor, always defined.
                        Some(output @ TaskData::Output(_)) => output.data(),
                        None => continue,
                    };
                    out.insert(r.clone(), Value::String(refs::wrap(&data)));
                }
                Value::Object(out)
            }
            EndOutput::Iteration => Value::String(refs::wrap(last)),
        }
    }

    // ---- task lists ----------------------------------------------------------------------

    /// Compiles `tasks` into `scope`; returns the entry state's name.
    fn compile_list(
        &mut self,
        tasks: &[WorkflowTask],
        prefix: &str,
        scope: &mut ScopeBuf,
        exit: Exit,
        first: bool,
    ) -> String {
        let mut exit = exit;
        let mut entry: Option<String> = None;
        // Nothing after a TERMINATE runs: those tasks get no state.
        let tasks = match tasks
            .iter()
            .position(|t| t.task_type() == TaskType::Terminate)
        {
            Some(at) => &tasks[..=at],
            None => tasks,
        };
        for (i, task) in tasks.iter().enumerate().rev() {
            if matches!(task.task_type(), TaskType::Join | TaskType::ExclusiveJoin) {
                continue;
            }
            let pointer = format!("{prefix}/{i}");
            let join = tasks
                .get(i + 1)
                .filter(|t| matches!(t.task_type(), TaskType::Join | TaskType::ExclusiveJoin));
            let first = first && i == 0;
            let name = self.compile_task(task, join, &pointer, scope, &exit, first);
            exit = Exit::Next(name.clone());
            entry = Some(name);
        }
        match entry {
            Some(name) => name,
            None => self.target(scope, &exit),
        }
    }

    fn compile_task(
        &mut self,
        task: &WorkflowTask,
        join: Option<&WorkflowTask>,
        pointer: &str,
        scope: &mut ScopeBuf,
        exit: &Exit,
        first: bool,
    ) -> String {
        let delay = task.start_delay.filter(|d| *d > 0 && is_leaf(task));
        // A delayed first task: the Wait before it is the first state.
        let (first, delay_is_first) = match delay {
            Some(_) => (false, first),
            None => (first, false),
        };
        let entry = match task.task_type() {
            TaskType::Switch | TaskType::Decision => {
                self.compile_switch(task, pointer, scope, exit, first)
            }
            TaskType::ForkJoin => self.compile_fork(task, join, pointer, scope, exit),
            TaskType::ForkJoinDynamic => {
                self.compile_dynamic_fork(task, join, pointer, scope, exit)
            }
            TaskType::DoWhile => self.compile_loop(task, pointer, scope, exit, first),
            TaskType::Terminate => self.compile_terminate(task, pointer, scope, first),
            TaskType::Dynamic => self.compile_dynamic(task, pointer, scope, exit, first),
            TaskType::KafkaPublish => {
                self.errors.push(
                    CompileError::unsupported("KAFKA_PUBLISH task", pointer).with_hint(
                        "publish through an EVENT task with an sqs:, sns: or eventbridge: sink",
                    ),
                );
                self.target(scope, exit)
            }
            _ => {
                let look = self.look(scope, first);
                match self.leaf(task, pointer, &look) {
                    Some(leaf) => self.emit_leaf(task, leaf, scope, exit, first),
                    None => self.target(scope, exit),
                }
            }
        };
        match delay {
            Some(delay) => {
                let name = self
                    .names
                    .allocate(&format!("{}_delay", task.task_reference_name));
                let assign = if delay_is_first {
                    self.initial_assign()
                } else {
                    Map::new()
                };
                let wait = WaitState {
                    seconds: u64::try_from(delay).ok().map(JsonataOr::Literal),
                    assign: (!assign.is_empty()).then_some(Value::Object(assign)),
                    transition: Some(Transition::Next(entry)),
                    ..WaitState::default()
                };
                scope.push(name.clone(), wait);
                name
            }
            _ => entry,
        }
    }

    /// Adds a leaf task's state: its variable, catch, task-map entry and transition.
    fn emit_leaf(
        &mut self,
        task: &WorkflowTask,
        leaf: Leaf,
        scope: &mut ScopeBuf,
        exit: &Exit,
        first: bool,
    ) -> String {
        let reference = &task.task_reference_name;
        let name = self.names.allocate(reference);
        let Leaf {
            mut state,
            result,
            shape_output,
        } = leaf;
        let depth = scope.path.len();
        // A task whose input the view cannot read from its state (SET_VARIABLE) records it.
        let recorded_input = match &mut state {
            State::Pass(p) => p.extra.remove("__input"),
            _ => None,
        };
        let var = (self.referenced.contains(reference) || recorded_input.is_some())
            .then(|| self.var_at(reference, depth));
        let mut assign = if first {
            self.initial_assign()
        } else {
            Map::new()
        };
        if let Some(var) = &var {
            let mut record = json!({"output": refs::wrap(&result)});
            if let Some(input) = recorded_input {
                record["input"] = input;
            }
            assign.insert(var.clone(), record);
        }
        let permissive = task.permissive.unwrap_or(false) && !task.is_optional();
        let can_fail = matches!(state, State::Task(_));
        let mut catch = Vec::new();
        if (task.is_optional() || permissive) && can_fail {
            let mut catch_assign = if first {
                self.initial_assign()
            } else {
                Map::new()
            };
            if let Some(var) = &var {
                catch_assign.insert(
                    var.clone(),
                    json!({
                        "output": {},
                        "status": if permissive { "FAILED" } else { "COMPLETED_WITH_ERRORS" },
                        "reasonForIncompletion": "{% $states.errorOutput.Cause %}"
                    }),
                );
            }
            if permissive {
                // The scope fails at its end (see `permissive_check`).
                catch_assign.insert(
                    permissive_variable(scope.path.len()),
                    Value::String("{% $states.errorOutput %}".into()),
                );
            }
            let target = self.target(scope, exit);
            let mut catcher = Catcher::new(["States.ALL"], target);
            if !catch_assign.is_empty() {
                catcher = catcher.with_assign(Value::Object(catch_assign));
            }
            catch.push(catcher);
        }
        let mut variables_after = None;
        if let State::Pass(p) = &mut state
            && let Some(Value::Object(extra)) = p.extra.remove("__vars")
        {
            variables_after = extra
                .get("vars")
                .and_then(Value::as_str)
                .and_then(jsonata::unwrap)
                .map(|e| format!("({e})"));
            assign.extend(extra);
        }
        let (transition, output) = match exit {
            Exit::Next(next) => (
                Transition::Next(next.clone()),
                shape_output.then(|| Value::String(refs::wrap(&result))),
            ),
            Exit::End => {
                let mut look = self.look(scope, first);
                look.overrides
                    .insert(reference.clone(), TaskData::Output(result.clone()));
                look.variables_after = variables_after;
                (
                    Transition::End,
                    Some(self.end_output(scope, &look, &result)),
                )
            }
        };
        let assign = (!assign.is_empty()).then_some(Value::Object(assign));
        match &mut state {
            State::Task(t) => {
                t.assign = assign;
                t.output = output.or(t.output.take());
                t.catch.extend(catch);
                t.transition = Some(transition);
            }
            State::Pass(p) => {
                p.assign = assign;
                p.output = output.or(p.output.take());
                p.transition = Some(transition);
            }
            State::Wait(w) => {
                w.assign = assign;
                w.output = output.or(w.output.take());
                w.transition = Some(transition);
            }
            _ => {}
        }
        self.record(&name, task, var);
        scope.push(name.clone(), state);
        name
    }

    fn record(&mut self, state: &str, task: &WorkflowTask, variable: Option<String>) {
        self.task_map.states.insert(
            state.to_owned(),
            StateTask {
                reference_task_name: task.task_reference_name.clone(),
                task_type: task.task_type().as_str().to_owned(),
                task_name: task.name.clone(),
                variable,
                loops: self.loops.clone(),
                dynamic: false,
                join: None,
            },
        );
    }

    /// Records that `join` completes when the fork state `state` exits, with its output in
    /// `variable`.
    fn record_join(&mut self, state: &str, join: &WorkflowTask, variable: String) {
        if let Some(entry) = self.task_map.states.get_mut(state) {
            entry.join = Some(JoinTask {
                reference_task_name: join.task_reference_name.clone(),
                task_name: join.name.clone(),
                variable,
            });
        }
    }

    // ---- leaf tasks ----------------------------------------------------------------------

    /// The state of a task that is one state, or `None` after reporting an error.
    fn leaf(&mut self, task: &WorkflowTask, pointer: &str, look: &Look) -> Option<Leaf> {
        let inputs = Value::Object(task.inputs().clone());
        let input_pointer = format!("{pointer}/inputParameters");
        let t = task.task_type();
        if task.is_async_complete() && !t.is_worker() {
            let input = self.param_template(&inputs, look, &input_pointer);
            return Some(self.token_task(
                task,
                placeholders::EXTERNAL_TASK_QUEUE_URL,
                input,
                Retryable::Worker,
                false,
            ));
        }
        Some(match t {
            TaskType::Simple | TaskType::UserDefined | TaskType::Worker(_) => {
                let input = self.param_template(&inputs, look, &input_pointer);
                let queue = placeholders::worker_queue_url(worker_type(task));
                self.token_task(task, &queue, input, Retryable::Worker, true)
            }
            TaskType::Human => {
                let input = self.param_template(&inputs, look, &input_pointer);
                self.token_task(
                    task,
                    placeholders::EXTERNAL_TASK_QUEUE_URL,
                    input,
                    Retryable::Worker,
                    false,
                )
            }
            TaskType::Http => {
                let payload = self.param_template(&inputs, look, &input_pointer);
                self.lambda(task, placeholders::HTTP_TASK_FUNCTION, payload)
            }
            TaskType::Inline | TaskType::Lambda => {
                let input = task.inputs().clone();
                let evaluator = input
                    .get("evaluatorType")
                    .and_then(Value::as_str)
                    .unwrap_or("javascript")
                    .to_owned();
                let script = if t == TaskType::Lambda {
                    task.script_expression.clone().or_else(|| {
                        input
                            .get("scriptExpression")
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                } else {
                    input
                        .get("expression")
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                };
                let Some(script) = script else {
                    self.errors.push(CompileError::invalid(
                        "the task has no script expression",
                        &input_pointer,
                    ));
                    return None;
                };
                if evaluator == "value-param" {
                    let value = input.get(&script).cloned().unwrap_or(Value::Null);
                    let expr = self.param_expr(&value, look, &input_pointer);
                    let result = format!("{{\"result\": {expr}}}");
                    let pass = PassState {
                        output: Some(Value::String(refs::wrap(&result))),
                        ..PassState::default()
                    };
                    return Some(Leaf {
                        state: State::Pass(pass),
                        result,
                        shape_output: false,
                    });
                }
                // `$` is the whole task input, evaluatorType and expression included, as in
                // Conductor.
                let data = self.param_template(&Value::Object(input), look, &input_pointer);
                let script = refs::escape_literal(&Value::String(script));
                self.script(task, ScriptKind::Javascript, script, data)
            }
            TaskType::JsonJqTransform => {
                // The filter reads the whole task input, queryExpression included, as in
                // Conductor.
                let input = task.inputs().clone();
                let Some(query) = input
                    .get("queryExpression")
                    .and_then(|v| v.as_str().map(str::to_owned))
                else {
                    self.errors.push(CompileError::invalid(
                        "JSON_JQ_TRANSFORM needs a queryExpression",
                        &input_pointer,
                    ));
                    return None;
                };
                let data = self.param_template(&Value::Object(input), look, &input_pointer);
                // Conductor resolves `${...}` in the filter like any input: a filter computed
                // by an earlier task is read at run time.
                let query_pointer = format!("{input_pointer}/queryExpression");
                let query = self.param_template(&Value::String(query), look, &query_pointer);
                self.script(task, ScriptKind::Jq, query, data)
            }
            TaskType::SetVariable => {
                let expr = self.param_expr(&inputs, look, &input_pointer);
                let mut assign = Map::new();
                assign.insert(
                    "vars".into(),
                    Value::String(refs::wrap(&format!(
                        "$merge([{}, {expr}])",
                        look.variables()
                    ))),
                );
                let pass = PassState {
                    output: Some(json!({})),
                    ..PassState::default()
                };
                // The `vars` member is added to the state's Assign by `emit_leaf`'s caller below,
                // and so is the task's record, which shows its input as Conductor does.
                let mut state = State::Pass(pass);
                if let State::Pass(p) = &mut state {
                    p.extra.insert("__vars".into(), Value::Object(assign));
                    p.extra
                        .insert("__input".into(), Value::String(refs::wrap(&expr)));
                }
                Leaf {
                    state,
                    result: "{}".into(),
                    shape_output: false,
                }
            }
            TaskType::Noop => {
                let mut pass = PassState {
                    output: Some(json!({})),
                    ..PassState::default()
                };
                if !task.inputs().is_empty() {
                    // Recorded for the view, as for SET_VARIABLE.
                    let expr = self.param_expr(&inputs, look, &input_pointer);
                    pass.extra
                        .insert("__input".into(), Value::String(refs::wrap(&expr)));
                }
                Leaf {
                    state: State::Pass(pass),
                    result: "{}".into(),
                    shape_output: false,
                }
            }
            TaskType::Wait => self.wait(task, &inputs, look, &input_pointer)?,
            TaskType::SubWorkflow => self.sub_workflow(task, &inputs, look, pointer)?,
            TaskType::StartWorkflow => self.start_workflow(task, look, pointer)?,
            TaskType::Event => self.event(task, &inputs, look, pointer)?,
            other => {
                self.errors
                    .push(CompileError::unsupported(format!("{other} task"), pointer));
                return None;
            }
        })
    }

    fn task_def_policies(
        &self,
        task: &WorkflowTask,
        state: &mut TaskState,
        kind: Retryable,
        heartbeat: bool,
    ) {
        let def = task.effective_task_def(self.env.task_defs());
        state.retry = retriers(&def, kind);
        if def.timeout_seconds() > 0 {
            state.timeout_seconds = u64::try_from(def.timeout_seconds())
                .ok()
                .map(JsonataOr::Literal);
        }
        if heartbeat && def.response_timeout_seconds() > 0 {
            let beat = u64::try_from(def.response_timeout_seconds()).unwrap_or(3600);
            // HeartbeatSeconds must be smaller than TimeoutSeconds.
            let beat = match state.timeout_seconds.as_ref().and_then(JsonataOr::literal) {
                Some(&timeout) if beat >= timeout => None,
                _ => Some(beat),
            };
            state.heartbeat_seconds = beat.map(JsonataOr::Literal);
        }
    }

    /// A task completed from outside through its task token (workers, HUMAN, WAIT, async).
    fn token_task(
        &mut self,
        task: &WorkflowTask,
        queue: &str,
        input: Value,
        kind: Retryable,
        worker: bool,
    ) -> Leaf {
        let body = json!({
            "taskToken": "{% $states.context.Task.Token %}",
            "taskId": refs::wrap(TASK_ID),
            "workflowId": "{% $states.context.Execution.Name %}",
            "workflowType": self.def.name,
            "taskType": if worker { worker_type(task).to_owned() } else { task.task_type().as_str().to_owned() },
            "taskDefName": task.name,
            "referenceTaskName": task.task_reference_name,
            "retryCount": "{% $states.context.State.RetryCount %}",
            "inputData": input,
        });
        let mut state = TaskState::new(placeholders::SQS_SEND_WAIT_TOKEN)
            .with_arguments(json!({"QueueUrl": queue, "MessageBody": body}));
        if worker {
            self.task_def_policies(task, &mut state, kind, true);
        }
        Leaf {
            state: State::Task(state),
            result: "$states.result".into(),
            shape_output: false,
        }
    }

    fn lambda(&mut self, task: &WorkflowTask, function: &str, payload: Value) -> Leaf {
        let mut state = TaskState::new(placeholders::LAMBDA_INVOKE)
            .with_arguments(json!({"FunctionName": function, "Payload": payload}));
        self.task_def_policies(task, &mut state, Retryable::TaskFunction, false);
        Leaf {
            state: State::Task(state),
            result: "$states.result.Payload".into(),
            shape_output: true,
        }
    }

    fn script(
        &mut self,
        task: &WorkflowTask,
        kind: ScriptKind,
        expression: Value,
        input: Value,
    ) -> Leaf {
        let request = ScriptRequest {
            kind,
            expression: String::new(),
            input: Value::Null,
        };
        let mut payload = serde_json::to_value(&request).unwrap_or_default();
        if let Some(obj) = payload.as_object_mut() {
            obj.insert("expression".into(), expression);
            obj.insert("input".into(), input);
        }
        let mut leaf = self.lambda(task, placeholders::SCRIPT_TASK_FUNCTION, payload);
        if let State::Task(t) = &mut leaf.state {
            // Script errors are the script's: retrying cannot help.
            t.retry
                .retain(|r| r.error_equals.iter().all(|e| !e.starts_with("Script.")));
        }
        leaf
    }

    fn wait(
        &mut self,
        task: &WorkflowTask,
        inputs: &Value,
        look: &Look,
        pointer: &str,
    ) -> Option<Leaf> {
        let duration = inputs.get("duration").and_then(Value::as_str);
        let until = inputs.get("until").and_then(Value::as_str);
        let state = match (duration, until) {
            (Some(text), _) => match parse_duration(text) {
                Some(seconds) => WaitState {
                    seconds: Some(JsonataOr::Literal(seconds)),
                    ..WaitState::default()
                },
                None => {
                    self.errors.push(CompileError::unsupported(
                        format!("WAIT duration `{text}`"),
                        format!("{pointer}/duration"),
                    ));
                    return None;
                }
            },
            (None, Some(text)) => match parse_until(text) {
                Some(stamp) => WaitState {
                    timestamp: Some(JsonataOr::Literal(stamp)),
                    ..WaitState::default()
                },
                None => {
                    self.errors.push(CompileError::unsupported(
                        format!("WAIT until `{text}`"),
                        format!("{pointer}/until"),
                    ));
                    return None;
                }
            },
            (None, None) => {
                let input = self.param_template(inputs, look, pointer);
                return Some(self.token_task(
                    task,
                    placeholders::EXTERNAL_TASK_QUEUE_URL,
                    input,
                    Retryable::Worker,
                    false,
                ));
            }
        };
        let state = WaitState {
            output: Some(json!({})),
            ..state
        };
        Some(Leaf {
            state: State::Wait(state),
            result: "{}".into(),
            shape_output: false,
        })
    }

    fn sub_workflow(
        &mut self,
        task: &WorkflowTask,
        inputs: &Value,
        look: &Look,
        pointer: &str,
    ) -> Option<Leaf> {
        let Some(params) = &task.sub_workflow_param else {
            self.errors.push(CompileError::invalid(
                "SUB_WORKFLOW needs subWorkflowParam",
                pointer,
            ));
            return None;
        };
        let machine = match &params.workflow_definition {
            Some(InlineWorkflow::Definition(def)) => {
                let name = format!(
                    "{}__{}",
                    self.machine_name,
                    sanitize(&task.task_reference_name)
                );
                self.compile_child(def, &name, pointer);
                name
            }
            Some(InlineWorkflow::Expression(_)) => {
                self.errors.push(CompileError::unsupported(
                    "SUB_WORKFLOW with a workflowDefinition expression",
                    format!("{pointer}/subWorkflowParam/workflowDefinition"),
                ));
                return None;
            }
            None => {
                let Some(name) = params.name.clone().filter(|n| !n.contains("${")) else {
                    self.errors.push(CompileError::unsupported(
                        "SUB_WORKFLOW with a dynamic name",
                        format!("{pointer}/subWorkflowParam/name"),
                    ));
                    return None;
                };
                if let Some(child) = self.env.workflow(&name, params.version) {
                    let child = child.clone();
                    self.compile_child(&child, &name, pointer);
                }
                name
            }
        };
        let input = self.param_template(inputs, look, pointer);
        let mut state = TaskState::new(placeholders::START_EXECUTION_SYNC).with_arguments(json!({
            "StateMachineArn": placeholders::state_machine_arn(&machine),
            "Input": input,
        }));
        let def = task.effective_task_def(self.env.task_defs());
        if def.timeout_seconds() > 0 {
            state.timeout_seconds = u64::try_from(def.timeout_seconds())
                .ok()
                .map(JsonataOr::Literal);
        }
        Some(Leaf {
            state: State::Task(state),
            result: "$merge([{\"subWorkflowId\": $states.result.Name}, $type($states.result.Output) = \"object\" ? $states.result.Output : {}])".into(),
            shape_output: true,
        })
    }

    fn compile_child(&mut self, def: &WorkflowDef, name: &str, pointer: &str) {
        if self.children.contains_key(name)
            || self.ancestors.iter().any(|a| a == name)
            || name == self.machine_name
        {
            return;
        }
        let mut ancestors = self.ancestors.clone();
        ancestors.push(self.machine_name.clone());
        match Compiler::new(def, self.env, name.to_owned(), ancestors).compile() {
            Ok(mut child) => {
                let grandchildren = std::mem::take(&mut child.children);
                self.children.insert(name.to_owned(), child);
                for (k, v) in grandchildren {
                    self.children.entry(k).or_insert(v);
                }
            }
            Err(errors) => {
                for mut e in errors {
                    e.pointer =
                        format!("{pointer}/subWorkflowParam/workflowDefinition{}", e.pointer);
                    self.errors.push(e);
                }
            }
        }
    }

    fn start_workflow(&mut self, task: &WorkflowTask, look: &Look, pointer: &str) -> Option<Leaf> {
        let start = task
            .inputs()
            .get("startWorkflow")
            .cloned()
            .unwrap_or(Value::Null);
        let Some(name) = start
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.contains("${"))
        else {
            self.errors.push(CompileError::unsupported(
                "START_WORKFLOW without a static workflow name",
                format!("{pointer}/inputParameters/startWorkflow/name"),
            ));
            return None;
        };
        let input = start.get("input").cloned().unwrap_or_else(|| json!({}));
        let input = self.param_template(&input, look, pointer);
        let state = TaskState::new(placeholders::START_EXECUTION).with_arguments(json!({
            "StateMachineArn": placeholders::state_machine_arn(name),
            "Input": input,
        }));
        Some(Leaf {
            state: State::Task(state),
            result: "{\"workflowId\": $split($states.result.ExecutionArn, \":\")[-1]}".into(),
            shape_output: true,
        })
    }

    fn event(
        &mut self,
        task: &WorkflowTask,
        inputs: &Value,
        look: &Look,
        pointer: &str,
    ) -> Option<Leaf> {
        let sink = task.sink.clone().unwrap_or_default();
        let payload = self.param_template(inputs, look, pointer);
        let (kind, target) = sink.split_once(':').unwrap_or((sink.as_str(), ""));
        let state = match kind {
            "sqs" if !target.is_empty() => {
                TaskState::new(placeholders::SQS_SEND).with_arguments(json!({
                    "QueueUrl": placeholders::event_queue_url(target),
                    "MessageBody": payload,
                }))
            }
            "sns" if !target.is_empty() => TaskState::new(placeholders::SNS_PUBLISH)
                .with_arguments(json!({
                    "TopicArn": placeholders::event_topic_arn(target),
                    "Message": payload,
                })),
            "eventbridge" if !target.is_empty() => {
                TaskState::new(placeholders::EVENTBRIDGE_PUT_EVENTS).with_arguments(json!({
                    "Entries": [{
                        "EventBusName": placeholders::event_bus_arn(target),
                        "Source": format!("ocflow.{}", self.def.name),
                        "DetailType": task.name,
                        "Detail": payload,
                    }]
                }))
            }
            _ => {
                self.errors.push(
                    CompileError::unsupported(
                        format!("EVENT sink `{sink}`"),
                        format!("{pointer}/sink"),
                    )
                    .with_hint("use sqs:<queue>, sns:<topic> or eventbridge:<bus>"),
                );
                return None;
            }
        };
        let mut state = state;
        self.task_def_policies(task, &mut state, Retryable::TaskFunction, false);
        let result = format!(
            "$merge([{}, {{\"event_produced\": {}}}])",
            "{}",
            Value::String(sink.clone())
        );
        Some(Leaf {
            state: State::Task(state),
            result,
            shape_output: true,
        })
    }

    // ---- control flow --------------------------------------------------------------------

    /// The JSONata for a Conductor script's `$.name`: the task's input parameter `name`.
    fn script_params(
        &mut self,
        task: &WorkflowTask,
        look: &Look,
        pointer: &str,
    ) -> HashMap<String, String> {
        let mut out = HashMap::new();
        for (k, v) in task.inputs() {
            let expr = self.param_expr(v, look, pointer);
            out.insert(k.clone(), expr);
        }
        out
    }

    fn compile_switch(
        &mut self,
        task: &WorkflowTask,
        pointer: &str,
        scope: &mut ScopeBuf,
        exit: &Exit,
        first: bool,
    ) -> String {
        let reference = task.task_reference_name.clone();
        let depth = scope.path.len();
        // Branches first (back to front), so their entries exist.
        let mut cases = Vec::new();
        for (case, tasks) in task.cases() {
            let prefix = format!(
                "{pointer}/decisionCases/{}",
                ocflow_dsl::pointer::escape(case)
            );
            let entry = self.compile_list(tasks, &prefix, scope, exit.clone(), false);
            cases.push((case.to_owned(), entry));
        }
        let default = self.compile_list(
            task.default_branch(),
            &format!("{pointer}/defaultCase"),
            scope,
            exit.clone(),
            false,
        );
        let look = self.look(scope, first);
        let input_pointer = format!("{pointer}/inputParameters");
        let evaluator =
            task.evaluator_type
                .as_deref()
                .unwrap_or(if task.task_type() == TaskType::Decision {
                    if task.case_expression.is_some() {
                        "javascript"
                    } else {
                        "value-param"
                    }
                } else {
                    "value-param"
                });
        let source = match task.task_type() {
            TaskType::Decision => task
                .case_expression
                .clone()
                .or_else(|| task.case_value_param.clone()),
            _ => task.expression.clone(),
        };
        let Some(source) = source else {
            self.errors.push(CompileError::invalid(
                "the switch has no expression",
                pointer,
            ));
            return default;
        };
        let params = self.script_params(task, &look, &input_pointer);
        // The case value as Conductor compares it with the case keys: the value's string form
        // (`String.valueOf`), "null" for null and undefined.
        let (value, script_state) = if evaluator == "value-param" {
            let param = params
                .get(&source)
                .cloned()
                .unwrap_or_else(|| "null".into());
            (format!("$string({param})"), None)
        } else {
            let lookup = |name: &str| params.get(name).cloned();
            match js_condition::translate(&source, &lookup) {
                Ok(expr) => (
                    format!("($case := ({expr}); $exists($case) ? $string($case) : \"null\")"),
                    None,
                ),
                Err(_) => (
                    "($case := $states.input.result; $exists($case) ? $string($case) : \"null\")"
                        .to_owned(),
                    Some(self.condition_script(&source, task, &look, &input_pointer)),
                ),
            }
        };
        let initial = if first {
            self.initial_assign()
        } else {
            Map::new()
        };
        // Always recorded (it costs no transition): the execution record shows the task as
        // Conductor does, its input with the `case` it evaluated (and `hasChildren` when that
        // case has tasks), and its output: SWITCH's `evaluationResult` and `selectedCase`,
        // DECISION's `caseOutput`.
        let var = Some(self.var_at(&reference, depth));
        let decision = task.task_type() == TaskType::Decision;
        let fields: Vec<String> = task
            .inputs()
            .keys()
            .filter_map(|k| {
                Some(format!(
                    "{}: ({})",
                    Value::String(k.clone()),
                    params.get(k)?
                ))
            })
            .collect();
        // A case's record: for a case rule, `case` is the case itself; on the default path, the
        // expression that matched no case, evaluated once for the whole record.
        let record = |case: &str, case_literal: bool, has_children: bool| -> Value {
            let mut fields = fields.clone();
            let case_expr = if case_literal {
                Value::String(case.to_owned()).to_string()
            } else {
                "$selected".to_owned()
            };
            fields.push(format!("\"case\": {case_expr}"));
            if has_children {
                fields.push("\"hasChildren\": \"true\"".to_owned());
            }
            let input = format!("{{{}}}", fields.join(", "));
            let output = if decision {
                format!("{{\"caseOutput\": [{case_expr}]}}")
            } else {
                format!("{{\"evaluationResult\": [{case_expr}], \"selectedCase\": {case_expr}}}")
            };
            if case_literal {
                let output: Value = serde_json::from_str(&output).unwrap_or(Value::Null);
                json!({"input": refs::wrap(&input), "output": output})
            } else {
                Value::String(refs::wrap(&format!(
                    "($selected := ({case}); {{\"input\": {input}, \"output\": {output}}})"
                )))
            }
        };
        let mut choice = ocflow_asl::ChoiceState::default();
        for (case, entry) in &cases {
            let condition = format!("{value} = {}", Value::String(case.clone()));
            let mut rule = ChoiceRule::new(&refs::one_line(&condition), entry.clone());
            let mut assign = initial.clone();
            if let Some(var) = &var {
                let has_children = task
                    .cases()
                    .any(|(c, tasks)| c == case && !tasks.is_empty());
                assign.insert(var.clone(), record(case, true, has_children));
            }
            if !assign.is_empty() {
                rule = rule.with_assign(Value::Object(assign));
            }
            choice = choice.with_rule(rule);
        }
        if choice.choices.is_empty() {
            // Step Functions wants at least one rule.
            choice = choice.with_rule(ChoiceRule::new("false", default.clone()));
        }
        choice.default = Some(default);
        let mut default_assign = initial;
        if let Some(var) = &var {
            // The default path records the value that matched no case.
            let has_children = !task.default_branch().is_empty();
            default_assign.insert(var.clone(), record(&value, false, has_children));
        }
        if !default_assign.is_empty() {
            choice
                .extra
                .insert("__default_assign".into(), Value::Object(default_assign));
        }
        let name = self.names.allocate(&reference);
        self.record(&name, task, var);
        let choice_state = finish_choice(choice);
        scope.push(name.clone(), choice_state);
        match script_state {
            Some(mut script) => {
                let script_name = self.names.allocate(&format!("{reference}_eval"));
                script.transition = Some(Transition::Next(name));
                scope.push(script_name.clone(), script);
                script_name
            }
            None => name,
        }
    }

    /// A script-function call evaluating a JavaScript condition over `input`.
    fn condition_script(
        &mut self,
        source: &str,
        task: &WorkflowTask,
        look: &Look,
        pointer: &str,
    ) -> TaskState {
        let input = self.param_template(&Value::Object(task.inputs().clone()), look, pointer);
        self.condition_call(source, input)
    }

    fn condition_call(&mut self, source: &str, input: Value) -> TaskState {
        let payload = json!({
            "kind": "condition",
            "expression": refs::escape_literal(&Value::String(source.to_owned())),
            "input": input,
        });
        let mut state = TaskState::new(placeholders::LAMBDA_INVOKE).with_arguments(json!({
            "FunctionName": placeholders::SCRIPT_TASK_FUNCTION,
            "Payload": payload,
        }));
        state.output = Some(Value::String("{% $states.result.Payload %}".into()));
        state.retry = retriers(
            &ocflow_dsl::model::TaskDef {
                retry_count: Some(2),
                retry_delay_seconds: Some(1),
                ..Default::default()
            },
            Retryable::TaskFunction,
        )
        .into_iter()
        .map(|mut r| {
            r.error_equals.retain(|e| e.starts_with("Lambda."));
            r
        })
        .collect();
        state
    }

    fn compile_fork(
        &mut self,
        task: &WorkflowTask,
        join: Option<&WorkflowTask>,
        pointer: &str,
        scope: &mut ScopeBuf,
        exit: &Exit,
    ) -> String {
        let depth = scope.path.len();
        let mut parallel = ParallelState::default();
        let mut exports_by_branch = Vec::new();
        for (i, branch) in task.fork_branches().iter().enumerate() {
            let mut path = scope.path.clone();
            path.push(format!("{pointer}/forkTasks/{i}"));
            let exports: Vec<String> = ocflow_dsl_walk(branch)
                .into_iter()
                .map(|t| t.task_reference_name.clone())
                .filter(|r| self.referenced.contains(r))
                .collect();
            let mut inner = ScopeBuf::new(path, EndOutput::Branch(exports.clone()));
            let start = if branch.is_empty() {
                let name = self
                    .names
                    .allocate(&format!("{}_branch{i}", task.task_reference_name));
                inner.push(
                    name.clone(),
                    PassState {
                        output: Some(json!({})),
                        transition: Some(Transition::End),
                        ..PassState::default()
                    },
                );
                name
            } else {
                let exit = self.permissive_check(branch, &mut inner);
                self.compile_list(
                    branch,
                    &format!("{pointer}/forkTasks/{i}"),
                    &mut inner,
                    exit,
                    false,
                )
            };
            let mut b = Branch::new(start);
            b.states = inner.into_states();
            parallel = parallel.with_branch(b);
            exports_by_branch.push(exports);
        }
        let mut assign = Map::new();
        let mut overrides: HashMap<String, TaskData> = HashMap::new();
        let mut branch_data: HashMap<String, String> = HashMap::new();
        for (i, exports) in exports_by_branch.iter().enumerate() {
            for r in exports {
                let expr = format!("$states.result[{i}].{}", refs::field_name(r));
                assign.insert(
                    self.var_at(r, depth),
                    Value::String(refs::wrap(&refs::guarded(&expr))),
                );
                overrides.insert(r.clone(), TaskData::Data(expr.clone()));
                branch_data.insert(r.clone(), expr);
            }
        }
        let joined: Vec<String> = match join {
            Some(j) if !j.join_refs().is_empty() => j.join_refs().to_vec(),
            _ => exports_by_branch.iter().flatten().cloned().collect(),
        };
        let join_output = format!(
            "{{{}}}",
            joined
                .iter()
                .filter_map(|r| branch_data.get(r).map(|e| format!(
                    "{}: {}",
                    Value::String(r.clone()),
                    refs::guarded(&format!("{e}.output"))
                )))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Always assigned (no transition): the execution record shows the JOIN's output.
        let join_var = join.map(|j| self.var_at(&j.task_reference_name, depth));
        if let (Some(var), Some(j)) = (&join_var, join) {
            assign.insert(var.clone(), json!({"output": refs::wrap(&join_output)}));
            overrides.insert(
                j.task_reference_name.clone(),
                TaskData::Output(join_output.clone()),
            );
        }
        parallel.output = Some(Value::String(refs::wrap(&join_output)));
        parallel.assign = (!assign.is_empty()).then_some(Value::Object(assign));
        self.fail_fast_catch(task, &mut parallel.catch, scope, exit);
        match exit {
            Exit::Next(next) => parallel.transition = Some(Transition::Next(next.clone())),
            Exit::End => {
                let mut look = self.look(scope, false);
                look.overrides = overrides;
                parallel.output = Some(self.end_output(scope, &look, &join_output));
                parallel.transition = Some(Transition::End);
            }
        }
        let name = self.names.allocate(&task.task_reference_name);
        self.record(&name, task, None);
        if let (Some(var), Some(j)) = (join_var, join) {
            self.record_join(&name, j, var);
        }
        scope.push(name.clone(), parallel);
        name
    }

    /// Where a scope's last task goes: the scope's end, or, when the scope holds permissive
    /// tasks, a Choice that fails the scope with the first permissive failure (Conductor fails
    /// the workflow, or the fork at its JOIN, once the other tasks are done).
    fn permissive_check(&mut self, tasks: &[WorkflowTask], scope: &mut ScopeBuf) -> Exit {
        let has_permissive = scope_tasks(tasks)
            .iter()
            .any(|t| t.permissive.unwrap_or(false) && !t.is_optional());
        if !has_permissive {
            return Exit::End;
        }
        let variable = permissive_variable(scope.path.len());
        let fail = self.names.allocate("PermissiveTaskFailed");
        scope.push(
            fail.clone(),
            State::fail(
                JsonataOr::expression(&format!("${variable}.Error")),
                JsonataOr::expression(&fail_cause(&format!("${variable}"))),
            ),
        );
        let done = self.target(scope, &Exit::End);
        let check = self.names.allocate("CheckPermissiveTasks");
        let mut choice = ocflow_asl::ChoiceState::default()
            .with_rule(ChoiceRule::new(&format!("$exists(${variable})"), fail));
        choice.default = Some(done);
        scope.push(check.clone(), State::Choice(choice));
        Exit::Next(check)
    }

    fn fail_fast_catch(
        &mut self,
        task: &WorkflowTask,
        catch: &mut Vec<Catcher>,
        scope: &mut ScopeBuf,
        exit: &Exit,
    ) {
        if task.is_optional() {
            let target = self.target(scope, exit);
            catch.push(Catcher::new(["States.ALL"], target));
        }
    }

    fn compile_dynamic_fork(
        &mut self,
        task: &WorkflowTask,
        join: Option<&WorkflowTask>,
        pointer: &str,
        scope: &mut ScopeBuf,
        exit: &Exit,
    ) -> String {
        let look = self.look(scope, false);
        let input_pointer = format!("{pointer}/inputParameters");
        let inputs = task.inputs();
        let (items, fixed_type, workflow) = if let Some(param) = task.dynamic_fork_param() {
            let tasks = inputs.get(param).cloned().unwrap_or(Value::Null);
            let tasks = self.param_expr(&tasks, &look, &input_pointer);
            let per_task = task
                .dynamic_fork_tasks_input_param_name
                .as_ref()
                .and_then(|p| inputs.get(p))
                .cloned()
                .unwrap_or_else(|| json!({}));
            let per_task = self.param_expr(&per_task, &look, &input_pointer);
            // `$append([], ...)`: JSONata's `$map` returns a lone value for a one-element
            // list, and a Map's Items must be an array.
            (
                format!(
                    "($inputs := {per_task}; $append([], $map({tasks}, function($t) {{ {{\"task\": $t, \"input\": $merge([{{}}, $lookup($inputs, $t.taskReferenceName)])}} }})))"
                ),
                None,
                None,
            )
        } else if let Some(fork_inputs) = inputs.get("forkTaskInputs") {
            let list = self.param_expr(fork_inputs, &look, &input_pointer);
            let name = inputs
                .get("forkTaskName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let wf = inputs
                .get("forkTaskWorkflow")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let type_ = match (&name, &wf) {
                (_, Some(_)) => "SUB_WORKFLOW".to_owned(),
                (Some(n), None) => inputs
                    .get("forkTaskType")
                    .and_then(Value::as_str)
                    .unwrap_or(n)
                    .to_owned(),
                (None, None) => {
                    self.errors.push(CompileError::invalid(
                        "FORK_JOIN_DYNAMIC needs forkTaskName or forkTaskWorkflow",
                        &input_pointer,
                    ));
                    return self.target(scope, exit);
                }
            };
            let base = name.clone().or(wf.clone()).unwrap_or_default();
            (
                format!(
                    "$append([], $map({list}, function($v, $i) {{ {{\"task\": {{\"name\": {n}, \"type\": {t}, \"taskReferenceName\": {n} & \"_\" & $string($i)}}, \"input\": $v}} }}))",
                    n = Value::String(base),
                    t = Value::String(type_.clone())
                ),
                Some(type_),
                wf,
            )
        } else {
            self.errors.push(CompileError::invalid(
                "FORK_JOIN_DYNAMIC needs dynamicForkTasksParam or forkTaskInputs",
                pointer,
            ));
            return self.target(scope, exit);
        };
        // The iteration: dispatch on the forked task's type; each returns {<ref>: {output}}.
        let mut path = scope.path.clone();
        path.push(format!("{pointer}/dynamic"));
        let mut inner = ScopeBuf::new(path, EndOutput::Iteration);
        let start = self.dispatch(
            task,
            fixed_type.as_deref(),
            workflow.as_deref(),
            "$states.input.task",
            "$states.input.input",
            &mut inner,
            true,
            pointer,
        );
        let mut processor = ItemProcessor::new(start);
        processor.states = inner.into_states();
        let mut map = MapState::new(processor).with_items(Value::String(refs::wrap(&items)));
        let depth = scope.path.len();
        // Each iteration returns {<ref>: {"output": ...}}; the JOIN's output is {<ref>: output}.
        let join_output =
            "$merge([{}, $states.result.($each($, function($v, $k) { {$k: $v.output} }))])"
                .to_owned();
        let mut assign = Map::new();
        // Always assigned (no transition): the execution record shows the JOIN's output.
        let join_var = join.map(|j| self.var_at(&j.task_reference_name, depth));
        if let Some(var) = &join_var {
            assign.insert(var.clone(), json!({"output": refs::wrap(&join_output)}));
        }
        map.assign = (!assign.is_empty()).then_some(Value::Object(assign));
        map.output = Some(Value::String(refs::wrap(&join_output)));
        self.fail_fast_catch(task, &mut map.catch, scope, exit);
        match exit {
            Exit::Next(next) => map.transition = Some(Transition::Next(next.clone())),
            Exit::End => {
                let mut look = self.look(scope, false);
                if let Some(j) = join {
                    look.overrides.insert(
                        j.task_reference_name.clone(),
                        TaskData::Output(join_output.clone()),
                    );
                }
                map.output = Some(self.end_output(scope, &look, &join_output));
                map.transition = Some(Transition::End);
            }
        }
        let name = self.names.allocate(&task.task_reference_name);
        self.record(&name, task, None);
        if let (Some(var), Some(j)) = (join_var, join) {
            self.record_join(&name, j, var);
        }
        scope.push(name.clone(), State::Map(Box::new(map)));
        name
    }

    /// States that run one task chosen at run time: `task` (JSONata for a WorkflowTask-like
    /// object) with `input`. Known kinds: HTTP, INLINE/JSON_JQ_TRANSFORM, the worker types the
    /// environment defines (or `fixed_type`), and SUB_WORKFLOW of a static `workflow`.
    #[allow(clippy::too_many_arguments)]
    fn dispatch(
        &mut self,
        owner: &WorkflowTask,
        fixed_type: Option<&str>,
        workflow: Option<&str>,
        task: &str,
        input: &str,
        scope: &mut ScopeBuf,
        iteration: bool,
        pointer: &str,
    ) -> String {
        let result_of = |result: &str| -> String {
            if iteration {
                format!("{{{task}.taskReferenceName: {{\"output\": {result}}}}}")
            } else {
                result.to_owned()
            }
        };
        let mut candidates: Vec<(String, State)> = Vec::new();
        let wrap_input = Value::String(refs::wrap(input));
        let mut push = |label: &str, mut state: TaskState, result: &str| {
            state.output = Some(Value::String(refs::wrap(&result_of(result))));
            candidates.push((label.to_owned(), State::Task(state)));
        };
        let mut types: Vec<String> = Vec::new();
        match (fixed_type, workflow) {
            (Some("SUB_WORKFLOW"), Some(wf)) => {
                let state =
                    TaskState::new(placeholders::START_EXECUTION_SYNC).with_arguments(json!({
                        "StateMachineArn": placeholders::state_machine_arn(wf),
                        "Input": wrap_input,
                    }));
                push(
                    "SUB_WORKFLOW",
                    state,
                    "$merge([{\"subWorkflowId\": $states.result.Name}, $type($states.result.Output) = \"object\" ? $states.result.Output : {}])",
                );
            }
            (Some(t), _) => types.push(t.to_owned()),
            (None, _) => {
                let http = TaskState::new(placeholders::LAMBDA_INVOKE).with_arguments(json!({"FunctionName": placeholders::HTTP_TASK_FUNCTION, "Payload": wrap_input}));
                push("HTTP", http, "$states.result.Payload");
                types.extend(self.env.task_names().iter().cloned());
            }
        }
        for t in types {
            let body = json!({
                "taskToken": "{% $states.context.Task.Token %}",
                "taskId": refs::wrap(TASK_ID),
                "workflowId": "{% $states.context.Execution.Name %}",
                "workflowType": self.def.name,
                "taskType": t,
                "taskDefName": refs::wrap(&format!("{task}.name")),
                "referenceTaskName": refs::wrap(&format!("{task}.taskReferenceName")),
                "retryCount": "{% $states.context.State.RetryCount %}",
                "inputData": wrap_input,
            });
            let mut state = TaskState::new(placeholders::SQS_SEND_WAIT_TOKEN).with_arguments(
                json!({"QueueUrl": placeholders::worker_queue_url(&t), "MessageBody": body}),
            );
            let def = self
                .env
                .task_defs()
                .get(&t)
                .cloned()
                .unwrap_or_else(|| ocflow_dsl::model::TaskDef::named(t.clone()));
            state.retry = retriers(&def, Retryable::Worker);
            push(&t, state, "$states.result");
        }
        if candidates.is_empty() {
            self.errors.push(
                CompileError::unsupported("dynamic task with no known task type", pointer)
                    .with_hint("register the task definitions the dynamic task may name"),
            );
            let name = self
                .names
                .allocate(&format!("{}_none", owner.task_reference_name));
            scope.push(
                name.clone(),
                State::fail(
                    errors::BAD_INPUT.to_owned(),
                    "no known task type".to_owned(),
                ),
            );
            return name;
        }
        let single = candidates.len() == 1;
        let mut choice = ocflow_asl::ChoiceState::default();
        let mut entries = Vec::new();
        for (label, mut state) in candidates {
            let name = self
                .names
                .allocate(&format!("{}_{label}", owner.task_reference_name));
            if let State::Task(t) = &mut state {
                t.transition = Some(Transition::End);
            }
            if iteration {
                // The forked task is named by the iteration's item; see the task map docs.
                self.record(&name, owner, None);
                if let Some(entry) = self.task_map.states.get_mut(&name) {
                    entry.task_type = label.clone();
                    entry.dynamic = true;
                }
            }
            scope.push(name.clone(), state);
            entries.push((label, name));
        }
        if single {
            return entries.remove(0).1;
        }
        let unknown = self
            .names
            .allocate(&format!("{}_unknown", owner.task_reference_name));
        scope.push(
            unknown.clone(),
            State::fail(
                errors::BAD_INPUT.to_owned(),
                JsonataOr::expression(&format!(
                    "\"unknown task type \" & $string({task}.type) & \" / \" & $string({task}.name)"
                )),
            ),
        );
        for (label, name) in entries {
            let condition = if label == "HTTP" || label == "SUB_WORKFLOW" {
                format!("{task}.type = {}", Value::String(label.clone()))
            } else {
                format!("{task}.name = {}", Value::String(label.clone()))
            };
            choice = choice.with_rule(ChoiceRule::new(&refs::one_line(&condition), name));
        }
        choice.default = Some(unknown);
        let name = self
            .names
            .allocate(&format!("{}_dispatch", owner.task_reference_name));
        scope.push(name.clone(), choice);
        name
    }

    fn compile_dynamic(
        &mut self,
        task: &WorkflowTask,
        pointer: &str,
        scope: &mut ScopeBuf,
        exit: &Exit,
        first: bool,
    ) -> String {
        let look = self.look(scope, first);
        let Some(param) = task.dynamic_task_name_param.clone() else {
            self.errors.push(CompileError::invalid(
                "DYNAMIC needs dynamicTaskNameParam",
                pointer,
            ));
            return self.target(scope, exit);
        };
        let name_value = task.inputs().get(&param).cloned().unwrap_or(Value::Null);
        if let Value::String(literal) = &name_value
            && !literal.contains("${")
        {
            // The name is known now: compile it as that task.
            let mut fixed = task.clone();
            fixed.type_ = Some(TaskType::parse(literal));
            fixed.name = literal.clone();
            return self.compile_task(&fixed, None, pointer, scope, exit, first);
        }
        let mut input = task.inputs().clone();
        input.remove(&param);
        let name_expr = self.param_expr(
            &name_value,
            &look,
            &format!("{pointer}/inputParameters/{param}"),
        );
        let input_expr = self.param_expr(
            &Value::Object(input),
            &look,
            &format!("{pointer}/inputParameters"),
        );
        // Evaluate task and input once, into the dispatch's input.
        let prep = self
            .names
            .allocate(&format!("{}_resolve", task.task_reference_name));
        let mut inner_exit_scope = ScopeBuf::new(scope.path.clone(), scope.end.clone());
        let entry = self.dispatch(
            task,
            None,
            None,
            "$states.input.task",
            "$states.input.input",
            &mut inner_exit_scope,
            false,
            pointer,
        );
        let target = self.target(scope, exit);
        let depth = scope.path.len();
        let var = self
            .referenced
            .contains(&task.task_reference_name)
            .then(|| self.var_at(&task.task_reference_name, depth));
        for (name, mut state) in inner_exit_scope.states {
            if let State::Task(t) = &mut state {
                t.transition = Some(Transition::Next(target.clone()));
                if let (Some(var), Some(Value::String(out))) = (&var, &t.output) {
                    let result = jsonata::unwrap(out).unwrap_or("null").to_owned();
                    t.assign = Some(json!({var: {"output": refs::wrap(&result)}}));
                }
                self.record(&name, task, var.clone());
            }
            scope.push(name, state);
        }
        let initial = if first {
            self.initial_assign()
        } else {
            Map::new()
        };
        let pass = PassState {
            output: Some(Value::String(refs::wrap(&format!(
                "{{\"task\": {{\"name\": {name_expr}, \"type\": {name_expr}, \"taskReferenceName\": {}}}, \"input\": {input_expr}}}",
                Value::String(task.task_reference_name.clone())
            )))),
            assign: (!initial.is_empty()).then_some(Value::Object(initial)),
            transition: Some(Transition::Next(entry)),
            ..PassState::default()
        };
        scope.push(prep.clone(), pass);
        prep
    }

    fn compile_loop(
        &mut self,
        task: &WorkflowTask,
        pointer: &str,
        scope: &mut ScopeBuf,
        exit: &Exit,
        first: bool,
    ) -> String {
        let reference = task.task_reference_name.clone();
        let depth = scope.path.len();
        let var = self.var_at(&reference, depth);
        let check = self.names.allocate(&format!("{reference}_check"));
        self.loops.push(reference.clone());
        let body_entry = self.compile_list(
            task.loop_body(),
            &format!("{pointer}/loopOver"),
            scope,
            Exit::Next(check.clone()),
            false,
        );
        self.loops.pop();
        let look = self.look(scope, false);
        let input_pointer = format!("{pointer}/inputParameters");
        let items = task.inputs().get("items").cloned();
        let items_expr = items
            .as_ref()
            .map(|v| self.param_expr(v, &look, &input_pointer));
        // One iteration's record: every body task's output.
        let body_refs: Vec<String> = ocflow_dsl_walk(task.loop_body())
            .into_iter()
            .map(|t| t.task_reference_name.clone())
            .collect();
        let record = format!(
            "{{{}}}",
            body_refs
                .iter()
                .filter_map(|r| look.task(r).map(|e| format!(
                    "{}: {}",
                    Value::String(r.clone()),
                    refs::guarded(&e.output())
                )))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let keep = task
            .inputs()
            .get("keepLastN")
            .and_then(Value::as_i64)
            .filter(|n| *n > 0);
        let merged = |next: bool| -> String {
            let mut extra = format!("{{$string(${var}.output.iteration): {record}");
            if next {
                extra.push_str(&format!(", \"iteration\": ${var}.output.iteration + 1"));
                if let Some(items) = &items_expr {
                    extra.push_str(&format!(", \"item\": ({items})[${var}.output.iteration], \"index\": ${var}.output.iteration"));
                }
            }
            extra.push('}');
            let merged = format!("$merge([${var}.output, {extra}])");
            match keep {
                Some(n) => format!(
                    "($m := {merged}; $sift($m, function($v, $k) {{ $not($contains($k, /^[0-9]+$/)) or $number($k) > $m.iteration - {n} }}))"
                ),
                None => merged,
            }
        };
        // The condition's scope: `$.<loopRef>`, body outputs, the loop's input parameters.
        let mut params = self.script_params(task, &look, &input_pointer);
        params.insert(reference.clone(), format!("${var}.output"));
        for r in &body_refs {
            if let Some(e) = look.task(r) {
                params.insert(r.clone(), refs::guarded(&e.output()));
            }
        }
        let source = task.loop_condition.clone().unwrap_or_default();
        let mut script_state = None;
        let mut condition = if source.trim().is_empty() {
            None
        } else {
            let lookup = |name: &str| params.get(name).cloned();
            match js_condition::translate_condition(&source, &lookup) {
                Ok(expr) => Some(expr),
                Err(_) => {
                    let mut input = Map::new();
                    for (k, v) in &params {
                        input.insert(k.clone(), Value::String(refs::wrap(v)));
                    }
                    script_state = Some(self.condition_call(&source, Value::Object(input)));
                    // Read as Conductor's `evalBool`: a boolean as is, a number when above 0.
                    Some("($r := $states.input.result; $type($r) = \"boolean\" ? $r : ($type($r) = \"number\" and $r > 0))".to_owned())
                }
            }
        };
        if let Some(items) = &items_expr {
            let more = format!("${var}.output.iteration < $count({items})");
            condition = Some(match condition {
                Some(c) => format!("({more}) and ({c})"),
                None => more,
            });
        }
        let after = self.target(scope, exit);
        let mut choice = ocflow_asl::ChoiceState::default();
        choice = choice.with_rule(
            ChoiceRule::new(
                &refs::one_line(condition.as_deref().unwrap_or("false")),
                body_entry.clone(),
            )
            .with_assign(json!({&var: {"output": refs::wrap(&merged(true))}})),
        );
        choice.default = Some(after);
        choice.extra.insert(
            "__default_assign".into(),
            json!({&var: {"output": refs::wrap(&merged(false))}}),
        );
        scope.push(check.clone(), finish_choice(choice));
        if let Some(mut script) = script_state {
            let eval = self.names.allocate(&format!("{reference}_eval"));
            script.transition = Some(Transition::Next(check.clone()));
            scope.push(eval.clone(), script);
            // Body ends at the evaluation instead of the Choice.
            for (_, state) in scope.states.iter_mut() {
                retarget(state, &check, &eval);
            }
        }
        let mut init = "{\"iteration\": 1".to_owned();
        if let Some(items) = &items {
            let entry_look = self.look(scope, first);
            let items = self.param_expr(items, &entry_look, &input_pointer);
            init.push_str(&format!(", \"item\": ({items})[0], \"index\": 0"));
        }
        init.push('}');
        let name = self.names.allocate(&reference);
        let mut assign = if first {
            self.initial_assign()
        } else {
            Map::new()
        };
        assign.insert(var.clone(), json!({"output": refs::wrap(&init)}));
        let pass = PassState {
            assign: Some(Value::Object(assign)),
            transition: Some(Transition::Next(body_entry)),
            ..PassState::default()
        };
        self.record(&name, task, Some(var));
        scope.push(name.clone(), pass);
        name
    }

    fn compile_terminate(
        &mut self,
        task: &WorkflowTask,
        pointer: &str,
        scope: &mut ScopeBuf,
        first: bool,
    ) -> String {
        let look = self.look(scope, first);
        let input_pointer = format!("{pointer}/inputParameters");
        let inputs = task.inputs();
        let status = inputs
            .get("terminationStatus")
            .and_then(Value::as_str)
            .unwrap_or("FAILED")
            .to_owned();
        let output = inputs
            .get("workflowOutput")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let reason = inputs
            .get("terminationReason")
            .cloned()
            .unwrap_or(Value::Null);
        let name = self.names.allocate(&task.task_reference_name);
        self.record(&name, task, None);
        if status == "COMPLETED" && scope.path.is_empty() {
            let output = self.param_template(&output, &look, &input_pointer);
            scope.push(
                name.clone(),
                ocflow_asl::SucceedState {
                    output: Some(output),
                    ..Default::default()
                },
            );
        } else {
            let output = self.param_expr(&output, &look, &input_pointer);
            let reason = self.param_expr(&reason, &look, &input_pointer);
            let cause = format!(
                "$string({{\"status\": {}, \"reason\": {reason}, \"output\": {output}}})",
                Value::String(status.clone())
            );
            if let Some(handler) = self
                .failure_handler
                .clone()
                .filter(|_| status == "FAILED" && scope.path.is_empty())
            {
                // A FAILED termination starts the failure workflow first (a Fail state cannot
                // be caught); the shared failure path then fails with this error.
                let failure = format!(
                    "{{\"Error\": {}, \"Cause\": {cause}}}",
                    Value::String(errors::WORKFLOW_TERMINATED.to_owned())
                );
                scope.push(
                    name.clone(),
                    PassState {
                        assign: Some(json!({FAILURE_VARIABLE: refs::wrap(&failure)})),
                        transition: Some(Transition::Next(handler)),
                        ..PassState::default()
                    },
                );
                return name;
            }
            scope.push(
                name.clone(),
                State::fail(
                    errors::WORKFLOW_TERMINATED.to_owned(),
                    JsonataOr::expression(&cause),
                ),
            );
        }
        name
    }
}

/// The variable holding the error that fails the workflow, on the failure-workflow path.
const FAILURE_VARIABLE: &str = "failure";

impl Compiler<'_> {
    /// The failure-workflow path: every Task, Parallel and Map state of the machine's top scope
    /// catches any error into `$failure` and goes to `handler`, which starts the failure
    /// workflow with the input Conductor gives it (`workflowId`, `reason`, `failureStatus`,
    /// `failedWorkflow`), then a Fail re-raises the original error.
    fn add_failure_path(
        &mut self,
        workflow: &str,
        handler: &str,
        states: &mut IndexMap<String, State>,
    ) {
        let catcher = Catcher::new(["States.ALL"], handler.to_owned())
            .with_assign(json!({FAILURE_VARIABLE: "{% $states.errorOutput %}"}));
        for state in states.values_mut() {
            let catch = match state {
                State::Task(t) => &mut t.catch,
                State::Parallel(p) => &mut p.catch,
                State::Map(m) => &mut m.catch,
                _ => continue,
            };
            if !catch
                .iter()
                .any(|c| c.error_equals.iter().any(|e| e == "States.ALL"))
            {
                catch.push(catcher.clone());
            }
        }
        if let Some(child) = self.env.workflow(workflow, None).cloned() {
            self.compile_child(&child, workflow, "/failureWorkflow");
        }
        let fail = self.names.allocate("Failed");
        let cause = fail_cause(&format!("${FAILURE_VARIABLE}"));
        // A TERMINATE's cause is its `{status, reason, output}`; other causes are the reason.
        let input = format!(
            "($terminated := ${FAILURE_VARIABLE}.Error = {terminated} ? $parse(${FAILURE_VARIABLE}.Cause) : null; \
             $reason := $terminated ? $terminated.reason : {cause}; \
             {{\"workflowId\": $states.context.Execution.Name, \"reason\": $reason, \
             \"failureStatus\": $terminated ? $terminated.status : \"FAILED\", \
             \"failedWorkflow\": {{\"workflowId\": $states.context.Execution.Name, \
             \"workflowName\": {name}, \"workflowVersion\": {version}, \"status\": \"FAILED\", \
             \"input\": {input}, \"reasonForIncompletion\": $reason, \
             \"startTime\": $toMillis($states.context.Execution.StartTime)}}}})",
            terminated = Value::String(errors::WORKFLOW_TERMINATED.to_owned()),
            name = Value::String(self.def.name.clone()),
            version = self.def.version(),
            input = refs::EXECUTION_INPUT,
        );
        let mut start = TaskState::new(placeholders::START_EXECUTION).with_arguments(json!({
            "StateMachineArn": placeholders::state_machine_arn(workflow),
            "Input": refs::wrap(&input),
        }));
        // Starting the failure workflow must not hide the workflow's own error.
        start.catch.push(Catcher::new(["States.ALL"], fail.clone()));
        start.transition = Some(Transition::Next(fail.clone()));
        states.insert(handler.to_owned(), State::Task(start));
        states.insert(
            fail,
            State::fail(
                JsonataOr::expression(&format!("${FAILURE_VARIABLE}.Error")),
                JsonataOr::expression(&cause),
            )
            .into(),
        );
    }
}

/// Removes the states of `states` (and of the scopes nested in them) that no transition
/// reaches from `start`; returns their names.
fn prune_unreachable(start: &str, states: &mut IndexMap<String, State>) -> Vec<String> {
    let mut reached: HashSet<String> = HashSet::new();
    let mut stack = vec![start.to_owned()];
    while let Some(name) = stack.pop() {
        if !reached.insert(name.clone()) {
            continue;
        }
        if let Some(state) = states.get(&name) {
            stack.extend(state.successors().into_iter().map(str::to_owned));
        }
    }
    let mut removed: Vec<String> = Vec::new();
    states.retain(|name, state| {
        let keep = reached.contains(name);
        if !keep {
            removed.push(name.clone());
            removed.extend(nested_state_names(state));
        }
        keep
    });
    for state in states.values_mut() {
        match state {
            State::Parallel(p) => {
                for branch in &mut p.branches {
                    let start = branch.start_at.clone();
                    removed.extend(prune_unreachable(&start, &mut branch.states));
                }
            }
            State::Map(m) => {
                if let Some(processor) = &mut m.item_processor {
                    let start = processor.start_at.clone();
                    removed.extend(prune_unreachable(&start, &mut processor.states));
                }
            }
            _ => {}
        }
    }
    removed
}

/// The names of the states inside a Parallel's branches or a Map's processor, at any depth.
fn nested_state_names(state: &State) -> Vec<String> {
    let scopes: Vec<&IndexMap<String, State>> = match state {
        State::Parallel(p) => p.branches.iter().map(|b| &b.states).collect(),
        State::Map(m) => m.item_processor.iter().map(|p| &p.states).collect(),
        _ => Vec::new(),
    };
    scopes
        .into_iter()
        .flat_map(|states| {
            states.iter().flat_map(|(name, inner)| {
                std::iter::once(name.clone()).chain(nested_state_names(inner))
            })
        })
        .collect()
}

/// Moves the body's transitions to `from` so they go to `to` instead.
fn retarget(state: &mut State, from: &str, to: &str) {
    let fix = |t: &mut Option<Transition>| {
        if let Some(Transition::Next(n)) = t
            && n == from
        {
            *n = to.to_owned();
        }
    };
    match state {
        State::Task(s) => {
            fix(&mut s.transition);
            s.catch
                .iter_mut()
                .filter(|c| c.next == from)
                .for_each(|c| c.next = to.to_owned());
        }
        State::Pass(s) => fix(&mut s.transition),
        State::Wait(s) => fix(&mut s.transition),
        State::Parallel(s) => fix(&mut s.transition),
        State::Map(s) => fix(&mut s.transition),
        State::Choice(c) => {
            for rule in &mut c.choices {
                if rule.next == from {
                    rule.next = to.to_owned();
                }
            }
            if c.default.as_deref() == Some(from) {
                c.default = Some(to.to_owned());
            }
        }
        _ => {}
    }
}

/// Turns the private default-assignment marker into ASL: Step Functions has no `Assign` on a
/// Choice's `Default`, so the default path goes through the Choice-level `Assign`, which runs
/// only when no rule matches (a matching rule's own `Assign` wins).
fn finish_choice(mut choice: ocflow_asl::ChoiceState) -> State {
    if let Some(assign) = choice.extra.remove("__default_assign") {
        choice.assign = Some(assign);
    }
    State::Choice(choice)
}

/// JSONata for the `Cause` of an error object held in `error` (a Fail's cause must be a
/// string; some errors have none).
fn fail_cause(error: &str) -> String {
    format!("($exists({error}.Cause) ? {error}.Cause : \"\")")
}

/// The variable recording a scope's first permissive-task failure (`$states.errorOutput`).
fn permissive_variable(depth: usize) -> String {
    if depth == 0 {
        "permissive_failure".to_owned()
    } else {
        format!("permissive_failure__{depth}")
    }
}

/// The tasks whose states live in the scope of `tasks`: the list itself, SWITCH cases and loop
/// bodies, but not fork branches (each a scope of its own).
fn scope_tasks(tasks: &[WorkflowTask]) -> Vec<&WorkflowTask> {
    let mut out = Vec::new();
    let mut stack: Vec<&WorkflowTask> = tasks.iter().collect();
    while let Some(task) = stack.pop() {
        out.push(task);
        if !matches!(task.task_type(), TaskType::ForkJoin) {
            for (_, list) in task.child_lists() {
                stack.extend(list.iter());
            }
        }
    }
    out
}

/// Whether a task compiles to exactly one Task/Pass/Wait state that can take `Assign`.
fn is_leaf(task: &WorkflowTask) -> bool {
    !matches!(
        task.task_type(),
        TaskType::Switch
            | TaskType::Decision
            | TaskType::ForkJoin
            | TaskType::ForkJoinDynamic
            | TaskType::Join
            | TaskType::ExclusiveJoin
            | TaskType::DoWhile
            | TaskType::Terminate
            | TaskType::Dynamic
            | TaskType::KafkaPublish
    )
}

/// The queue type of a worker task: its type, or its name for SIMPLE and USER_DEFINED.
fn worker_type(task: &WorkflowTask) -> &str {
    match task.type_.as_ref() {
        Some(TaskType::Worker(t)) => t,
        _ => &task.name,
    }
}

/// Every task of `tasks` and below, pre-order.
fn ocflow_dsl_walk(tasks: &[WorkflowTask]) -> Vec<&WorkflowTask> {
    let mut out = Vec::new();
    let mut stack: Vec<&WorkflowTask> = tasks.iter().rev().collect();
    while let Some(task) = stack.pop() {
        out.push(task);
        for (_, list) in task.child_lists().into_iter().rev() {
            stack.extend(list.iter().rev());
        }
    }
    out
}

/// Marks the task references a JavaScript snippet may read as `$.<ref>`.
fn mark_script_refs(script: Option<&str>, referenced: &mut HashSet<String>) {
    let Some(script) = script else { return };
    let bytes = script.as_bytes();
    let mut i = 0;
    while let Some(pos) = script[i..].find("$.") {
        let start = i + pos + 2;
        let len = script[start..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
            .count();
        if len > 0 {
            referenced.insert(script[start..start + len].to_owned());
        }
        i = start;
        if i >= bytes.len() {
            break;
        }
    }
    // `$['ref']` style.
    let mut i = 0;
    while let Some(pos) = script[i..].find("$['") {
        let start = i + pos + 3;
        if let Some(end) = script[start..].find('\'') {
            referenced.insert(script[start..start + end].to_owned());
        }
        i = start;
    }
}

/// The fork branches enclosing the task at `pointer`, as pointers (`/tasks/2/forkTasks/0`, ...).
fn branch_path(pointer: &str) -> Vec<String> {
    let tokens: Vec<&str> = pointer.split('/').collect();
    let mut out = Vec::new();
    for (k, token) in tokens.iter().enumerate() {
        if *token == "forkTasks" && k + 2 < tokens.len() {
            out.push(tokens[..k + 2].join("/"));
        }
    }
    out
}
