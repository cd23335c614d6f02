# One image for every Crier service; the container command picks the service (`crier serve …`).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
RUN pip install --no-cache-dir . && useradd --system --uid 10001 crier
USER crier
EXPOSE 8080 9464
ENTRYPOINT ["crier"]
CMD ["serve", "gateway"]
