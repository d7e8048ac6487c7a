import pytest


@pytest.fixture(autouse=True)
def one_thread():
    """Trainers in unit tests use one torch thread: faster on a shared 2-core box, and repeatable."""
    try:
        import torch
    except ImportError:  # the API/UI tests need no torch
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
