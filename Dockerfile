FROM python:3.11-slim
WORKDIR /srv/jitgate
COPY pyproject.toml README.md ./
COPY app ./app
COPY workers ./workers
COPY notifiers ./notifiers
COPY jitgate ./jitgate
RUN pip install --no-cache-dir .
ENV JITGATE_ENV=production
EXPOSE 8000
CMD ["jitgate", "serve", "--host", "0.0.0.0", "--port", "8000"]
