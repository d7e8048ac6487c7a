# The API + UI image: no torch (the backend never imports it), so it stays small and starts fast.
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY backend ./backend
COPY frontend ./frontend
COPY workers ./workers
RUN pip install --no-cache-dir .
EXPOSE 8050
CMD ["sh", "-c", "phaselab migrate && phaselab serve --host 0.0.0.0 --port 8050 --workers 0"]
