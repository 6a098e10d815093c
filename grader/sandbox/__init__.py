"""Run student code in a sandbox and talk to it with plain arrays.

The package's parts, from the checks down to the kernel:

- ``session.py``: :class:`~grader.sandbox.session.Session`, what the checks use: a submission's
  definitions in one fresh fork of the template per task, with the submission's budgets (restarts,
  loading, time, bytes);
- ``supervisor.py``: the grader's side of the template process: start it, fork it per task, talk to a
  fork with deadlines, kill everything a task started;
- ``launcher.py``: the command that starts the template (bubblewrap, or the forks confine themselves)
  and the confinement they apply;
- ``cgroups.py``: the process and memory limits of a submission as a whole;
- in the child (copied into the sandbox's stage, standard library and numpy only): ``worker.py`` (the
  template and its forks), ``protocol.py`` (frames of plain data), ``confine.py`` (uid, seccomp, Landlock).

Every reply is read through :mod:`grader.boundary`, which imports only ``protocol`` from here.
"""
