"""The service layer, in three packages that the web app, API, CLI and workers call.

- `processes.engine`: a generic BPMN engine over SpiffWorkflow (repository, runtime, tasks, history,
  the sweep); it knows nothing of MACE and offers hooks (`processes.engine.hooks`).
- `processes.identity`: users, roles and areas, API tokens, sign-in and need-to-know access.
- `processes.mace`: the MACE pathway's own rules, plugged into the engine's hooks at start-up.
"""
