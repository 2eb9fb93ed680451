# The one image of POD Automator: API, workers, migrations and the CLI (`pod`).
# Used by docker-compose.temporal.yml; `docker build -t pod-automator:0.1.0 .`
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the wheel needs (no .venv, no .pod state, no tests).
COPY pyproject.toml README.md ./
COPY core ./core
COPY domain ./domain
COPY models ./models
COPY integrations ./integrations
COPY services ./services
COPY sandbox ./sandbox
COPY workflows ./workflows
COPY activities ./activities
COPY workers ./workers
COPY api ./api
COPY cli ./cli
RUN pip install . && rm -rf /src

# Run as an unprivileged user; POD_HOME (local state, only used without S3) is its home.
RUN useradd --create-home --uid 10001 --shell /usr/sbin/nologin pod
USER pod
WORKDIR /home/pod
ENV POD_HOME=/home/pod/.pod \
    ENVIRONMENT=production

EXPOSE 8000
ENTRYPOINT ["pod"]
CMD ["--help"]
