# One image for every Crier service; the container command picks the service (`crier serve …`).
# Python 3.11 on Linux x86_64: the target requirements.lock is compiled for (see its first lines).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
# The runtime dependencies alone, each at its locked version and checked against its hash; the
# `embedded` extra (NATS and PostgreSQL wheels for `crier up`) and the test tools stay out: the
# image runs against the servers CRIER_NATS_URL and CRIER_DATABASE_URL name. A layer of its own,
# so a code change rebuilds from the next step on.
COPY requirements.lock ./
RUN pip install --require-hashes --only-binary=:all: -r requirements.lock
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
# --no-deps: the lock above is all the image carries.
RUN pip install --no-deps . && useradd --system --uid 10001 crier
USER crier
EXPOSE 8080 9464
ENTRYPOINT ["crier"]
CMD ["serve", "gateway"]
