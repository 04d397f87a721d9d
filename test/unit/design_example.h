/* DESIGN.md's example scenario file ("Scenario files"), in pieces, shared
 * by the loader's and the plan compiler's tests so both read the same file:
 * DESIGN_YAML_HEAD DESIGN_YAML_THRESHOLDS DESIGN_YAML_SCENARIOS is the file
 * as DESIGN.md shows it. */
#ifndef TEST_DESIGN_EXAMPLE_H
#define TEST_DESIGN_EXAMPLE_H

#define DESIGN_YAML_HEAD \
    "target: ${BASE_URL:-http://127.0.0.1:8080}\n" \
    "defaults: {timeout: 60s, discard_bodies: true,\n" \
    "           headers: {Authorization: \"Bearer ${USER_TOKEN:-}\"}}\n"

#define DESIGN_YAML_THRESHOLDS \
    "thresholds:\n" \
    "  http_req_duration: [\"p(95)<500\", \"p(99)<1500\"]\n" \
    "  http_req_failed: [\"rate<0.005\"]\n" \
    "  \"http_req_duration{scenario:browse}\": [\"p(95)<400\"]\n"

#define DESIGN_YAML_SCENARIOS \
    "scenarios:\n" \
    "  upload:\n" \
    "    executor: constant-vus\n" \
    "    vus: ${UPLOAD_VUS:-100}\n" \
    "    duration: ${DURATION:-5m}\n" \
    "    flow:\n" \
    "      - post: /api/v1/tracks/upload/initiate\n" \
    "        json: {total_chunks: 10, total_size: 10485760, filename: \"lt-${vu}-${iter}.mp3\"}\n" \
    "        expect: {status: [200, 201]}\n" \
    "        capture: {upload_id: {json: data.upload_id}}\n" \
    "      - repeat: 10\n" \
    "        as: n\n" \
    "        steps:\n" \
    "          - post: /api/v1/tracks/upload/chunk\n" \
    "            body: {bytes: 1MiB}\n" \
    "            headers: {X-Upload-Id: \"${upload_id}\", X-Chunk-Number: \"${n}\"}\n" \
    "  browse:\n" \
    "    executor: ramping-vus\n" \
    "    stages: [{duration: 30s, target: 1000}, {duration: 5m, target: 1000}]\n" \
    "    flow:\n" \
    "      - pick:\n" \
    "          - {weight: 60, get: \"/api/v1/search?q=${one_of:rock,jazz,lo-fi}\"}\n" \
    "          - {weight: 30, get: \"/api/v1/tracks?page=1&limit=20\"}\n" \
    "          - {weight: 10, get: \"/api/v1/tracks/${STREAM_TRACK_ID:-1}\"}\n" \
    "      - think: 300ms..800ms\n"

#endif
