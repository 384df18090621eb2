"""The teacher (paper §2.1): the paper's prompts, the answer cache, the client and its budgets.

- `prompts`: the paper's messages and each request's identity (`request_hash`);
- `tokens`: counting prompt tokens for the context budget;
- `cache`: the SQLite answer cache (and batch mode's record of submitted batches);
- `client`: one request with retries; `ratelimit`: the requests- and tokens-per-minute budget;
- `batch`: the OpenAI Batch API; `endpoint`: where the teacher runs (a server started for the job, or an API);
- `generate`: the stage itself, `run(...)` over one shard of the seeds, and `merge(...)` of the shards.
"""
