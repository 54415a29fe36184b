"""Loaded by tests/test_kill_resume.py's training processes (PYTHONPATH): when KILL_DURING_SAVE=N,
the process kills itself with SIGKILL while torch.save writes checkpoint-N/optimizer.pt, after
the file is created and before a byte is in it: the reported 0-byte optimizer.pt, with no
trainer_state.json after it."""
import os

if os.environ.get("KILL_DURING_SAVE"):
    import signal

    import torch

    _save = torch.save
    _target = os.path.join(f"checkpoint-{os.environ['KILL_DURING_SAVE']}", "optimizer.pt")

    def _save_then_die(obj, f, *args, **kwargs):
        if isinstance(f, (str, os.PathLike)) and os.fspath(f).endswith(_target):
            open(f, "wb").close()
            os.kill(os.getpid(), signal.SIGKILL)
        return _save(obj, f, *args, **kwargs)

    torch.save = _save_then_die
