"""The engine service layer: repository, runtime, tasks and history services over SpiffWorkflow."""
