# A worker image. TORCH_INDEX picks the wheel: PyPI's default build carries CUDA (GPU workers);
# https://download.pytorch.org/whl/cpu gives the small CPU build (CPU workers).
FROM python:3.11-slim
ARG TORCH_INDEX=https://pypi.org/simple
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE
RUN pip install --no-cache-dir --index-url ${TORCH_INDEX} torch==2.13.0
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY frontend ./frontend
COPY workers ./workers
RUN pip install --no-cache-dir ".[worker]"
CMD ["phaselab", "worker"]
