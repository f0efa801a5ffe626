"""Tests of the application shell: the flask CLI, configuration and the deployment files."""
