"""Which torch device a worker trains on: `auto` takes cuda when there is one, else cpu."""

DEVICES = ("auto", "cpu", "cuda")


class DeviceUnavailable(RuntimeError):
    pass


def pick_device(requested: str = "auto") -> str:
    """"cpu" or "cuda" for `requested` in auto|cpu|cuda; DeviceUnavailable if cuda is asked for but absent."""
    if requested not in DEVICES:
        raise ValueError(f"unknown device {requested!r}; use one of {', '.join(DEVICES)}")
    if requested == "cpu":
        return "cpu"
    import torch

    available = torch.cuda.is_available()
    if requested == "cuda" and not available:
        raise DeviceUnavailable(
            "--device cuda was asked for, but torch sees no CUDA device "
            f"(torch {torch.__version__}, CUDA build {torch.version.cuda or 'none'}); "
            "use --device auto or cpu, or install a CUDA build of torch on a machine with a GPU"
        )
    return "cuda" if available else "cpu"
