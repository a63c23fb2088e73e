# The callbench load generator as an image, for running segments of one bench
# on many machines (npm run bench:k8s, docs/scale-out.md). Build it from the
# repository:  docker build -t callbench:dev .
# It runs `npm run bench` (tsx, so the devDependencies are installed too) and
# carries h2load for --driver h2load; the servers under test run elsewhere.
FROM node:20-bookworm-slim

# h2load (nghttp2-client); util-linux (taskset, for --pin) is part of the base image.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nghttp2-client \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /callbench
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .

ENV CI=true
# bench:k8s gives each pod its command; run by hand: docker run --rm callbench:dev npm run bench -- --help
CMD ["npm", "run", "bench", "--", "--help"]
