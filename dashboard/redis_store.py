"""The upload store in Redis (UPLOAD_STORE_URL=redis://...), for a dashboard served by several hosts.

Same `UploadStore` interface and rules as the disk store: uploads stream in
(APPENDed chunk by chunk to a staging key), space is reserved atomically (a Lua
script) counting uploads in progress, the least recently used uploads make
room, and entries expire UPLOAD_TTL_MINUTES after their last use.

Keys, under PREFIX: `file:<token>` (the CSV), `data:<token>` (a hash of cached
results), `incoming:<id>` (an upload streaming in; it expires when its worker
stops sending, so a killed worker's staging goes away by itself), and three
bookkeeping keys: `sizes` (token -> bytes), `lru` (token -> last use) and
`reserved` (staging id -> bytes reserved). The scripts name keys they build,
so this needs a single Redis (not Redis Cluster), as managed Redis plans give.
"""
from __future__ import annotations

import io
import secrets
import time
from typing import BinaryIO

import redis

from dashboard.uploads import _NAME, _TOKEN, StoreFull, UnknownUpload, read_body

PREFIX = "heartbeat:upload:"
STALL_SECONDS = 180  # an upload that sends nothing for this long is abandoned (gunicorn's timeout)

# Forget bookkeeping for uploads Redis expired and reservations whose staging key is gone (a killed
# worker's), then evict least recently used uploads until `total` more bytes fit; reserve them for `id`.
# Returns the bytes reserved, or -1 when they cannot fit. ARGV: prefix, max bytes, id ("" to only clean up),
# total.
_RESERVE = """
local p, max, id, total = ARGV[1], tonumber(ARGV[2]), ARGV[3], tonumber(ARGV[4])
local sizes, lru, reserved = p .. 'sizes', p .. 'lru', p .. 'reserved'
local removed = 0
local pending = redis.call('HGETALL', reserved)
for i = 1, #pending, 2 do
  if pending[i] ~= id and redis.call('EXISTS', p .. 'incoming:' .. pending[i]) == 0 then
    redis.call('HDEL', reserved, pending[i])
    removed = removed + 1
  end
end
for _, token in ipairs(redis.call('ZRANGE', lru, 0, -1)) do
  if redis.call('EXISTS', p .. 'file:' .. token) == 0 then
    redis.call('ZREM', lru, token)
    redis.call('HDEL', sizes, token)
    redis.call('DEL', p .. 'data:' .. token)
    removed = removed + 1
  end
end
if id == '' then return removed end
local used = 0
for _, n in ipairs(redis.call('HVALS', sizes)) do used = used + tonumber(n) end
pending = redis.call('HGETALL', reserved)
for i = 1, #pending, 2 do
  if pending[i] ~= id then used = used + tonumber(pending[i + 1]) end
end
while used + total > max do
  local oldest = redis.call('ZRANGE', lru, 0, 0)[1]
  if not oldest then return -1 end
  used = used - tonumber(redis.call('HGET', sizes, oldest) or 0)
  redis.call('DEL', p .. 'file:' .. oldest, p .. 'data:' .. oldest)
  redis.call('ZREM', lru, oldest)
  redis.call('HDEL', sizes, oldest)
end
redis.call('HSET', reserved, id, total)
return total
"""


class RedisUploadStore:
    """Uploads in one Redis, shared by every worker on every host."""

    def __init__(self, client: redis.Redis, ttl_seconds: int, max_bytes: int, prefix: str = PREFIX):
        self.redis = client
        self.ttl_seconds = ttl_seconds
        self.max_bytes = max_bytes
        self.prefix = prefix
        self._reserve_script = client.register_script(_RESERVE)

    @classmethod
    def from_url(cls, url: str, ttl_seconds: int, max_bytes: int) -> RedisUploadStore:
        return cls(redis.Redis.from_url(url), ttl_seconds, max_bytes)

    def _reserve(self, staging_id: str, total: int) -> int:
        if total > self.max_bytes:
            raise StoreFull()  # could never fit: keep everyone else's uploads
        reserved = self._reserve_script(args=[self.prefix, self.max_bytes, staging_id, total])
        if reserved < 0:
            raise StoreFull()
        return reserved

    def create(self, stream: BinaryIO, *, limit: int, size: int | None = None) -> str:
        """Store the stream; `size` (the request's Content-Length) is reserved at once and must all arrive."""
        staging_id = secrets.token_urlsafe(16)
        staging = f"{self.prefix}incoming:{staging_id}"
        token = secrets.token_urlsafe(32)
        received = 0
        try:
            for chunk in read_body(stream, limit=limit, size=size,
                                   reserve=lambda total: self._reserve(staging_id, total)):
                received += len(chunk)
                pipe = self.redis.pipeline()
                pipe.append(staging, chunk)
                pipe.expire(staging, STALL_SECONDS)  # still streaming: kept however long the whole upload takes
                pipe.execute()
            pipe = self.redis.pipeline()  # MULTI/EXEC: the upload appears whole, with its bookkeeping
            pipe.rename(staging, f"{self.prefix}file:{token}")
            pipe.expire(f"{self.prefix}file:{token}", self.ttl_seconds)
            pipe.hset(f"{self.prefix}sizes", token, received)
            pipe.zadd(f"{self.prefix}lru", {token: time.time()})
            pipe.hdel(f"{self.prefix}reserved", staging_id)
            pipe.execute()
        except BaseException:
            self.redis.delete(staging)
            self.redis.hdel(f"{self.prefix}reserved", staging_id)
            raise
        return token

    def _use(self, token: str) -> None:
        """Check that the upload exists and mark it used now (its TTL starts again)."""
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise UnknownUpload(token)
        pipe = self.redis.pipeline()
        pipe.expire(f"{self.prefix}file:{token}", self.ttl_seconds)
        pipe.expire(f"{self.prefix}data:{token}", self.ttl_seconds)
        exists, _ = pipe.execute()
        if not exists:
            raise UnknownUpload(token)
        self.redis.zadd(f"{self.prefix}lru", {token: time.time()}, xx=True)

    def open_upload(self, token: str) -> BinaryIO:
        self._use(token)
        data = self.redis.get(f"{self.prefix}file:{token}")
        if data is None:
            raise UnknownUpload(token)
        return io.BytesIO(data)

    def write(self, token: str, name: str, data: bytes) -> None:
        if not _NAME.match(name):
            raise ValueError(f"bad store entry name {name!r}")
        self._use(token)
        key = f"{self.prefix}data:{token}"
        pipe = self.redis.pipeline()
        pipe.hstrlen(key, name)
        pipe.hset(key, name, data)
        pipe.expire(key, self.ttl_seconds)
        before, _, _ = pipe.execute()
        self.redis.hincrby(f"{self.prefix}sizes", token, len(data) - before)

    def read(self, token: str, name: str) -> bytes | None:
        if not _NAME.match(name):
            raise ValueError(f"bad store entry name {name!r}")
        self._use(token)
        return self.redis.hget(f"{self.prefix}data:{token}", name)

    def purge_expired(self) -> int:
        """Redis expires the keys itself; this forgets their bookkeeping and dead workers' reservations."""
        return int(self._reserve_script(args=[self.prefix, self.max_bytes, "", 0]))
