# The service as a container image: the wheel built from this tree, installed on a slim
# Python, run as an unprivileged user. Written and checked by tests/test_container.py; no
# container engine was run where it was written (README, "Operations").

FROM python:3.12-slim AS build
WORKDIR /src
COPY . .
# The wheel carries templates/, manifest.json and the migrations (pyproject.toml).
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.12-slim
# The metrics directory exists in the image, owned by the user: a volume mounted there
# (compose.yaml) starts with that owner, so the unprivileged processes can write to it.
RUN useradd --create-home --uid 10001 mentorship \
 && install -d -o mentorship -g mentorship -m 0700 /var/lib/mentorship/metrics
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER mentorship
WORKDIR /home/mentorship
ENV PYTHONUNBUFFERED=1 \
    MENTORSHIP_LOG_FORMAT=json
EXPOSE 8000
# /healthz answers 200 when the database answers; python's own urllib, no curl in the image.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["mentorship", "serve", "--host", "0.0.0.0", "--port", "8000"]
