FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY sql ./sql
RUN pip install --no-cache-dir .
ENV COINVOICE_SQL_DIR=/app/sql
EXPOSE 8080
CMD ["coinvoice", "serve"]
