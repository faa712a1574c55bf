FROM python:3.11-slim
WORKDIR /srv/jitgate
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
COPY notifiers ./notifiers
COPY jitgate ./jitgate
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --home-dir /srv/jitgate --shell /usr/sbin/nologin jitgate \
    && mkdir -p /var/lib/jitgate && chown jitgate /var/lib/jitgate
# Nothing in the image needs root at run time; beat's schedule and a SQLite file (if used) live
# in /var/lib/jitgate, the one directory the service user may write.
USER jitgate
ENV JITGATE_ENV=production
EXPOSE 8000
# Ready, not merely alive: the database, Redis and (Redis mode) a worker answer (see /readyz).
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4).status != 200)"]
CMD ["jitgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
