"""The answer cache's identity for `server: openai` (`teacher.cache_identity`), against real local servers
that list their models as Ollama, vLLM and llama.cpp's server do: new weights behind the same name are
asked again, the same weights are not, and `name` keeps the trust of the model's name alone."""

import itertools
import logging
import time
import uuid

from ossinstruct.teacher.identity import endpoint_identity, stable

from ..openai_server import OpenAIServer
from .test_teacher_spending import SEEDS, job


def ollama(state):
    """Ollama's /v1/models: `created` is when the model was pulled."""
    return lambda: [{"id": "teacher-model", "object": "model", "created": state["pulled"], "owned_by": "library"}]


def vllm(state):
    """vLLM's: `created` is the time of the listing and every permission id is new; `root` is the folder."""
    return lambda: [
        {
            "id": "teacher-model",
            "object": "model",
            "created": int(time.time()),
            "owned_by": "vllm",
            "root": state["root"],
            "parent": None,
            "max_model_len": 2048,
            "permission": [{"id": f"modelperm-{uuid.uuid4().hex}", "created": int(time.time()), "allow_view": True}],
        }
    ]


def test_new_weights_behind_the_same_name_are_asked_again_and_the_same_weights_are_not(tmp_path):
    state = {"pulled": 1_700_000_000}
    with OpenAIServer(listing=ollama(state)) as server:
        _, first = job(tmp_path, server, tag="first")
        _, again = job(tmp_path, server, tag="again")
        state["pulled"] += 3600  # `ollama pull` brought new weights for the same name
        _, pulled = job(tmp_path, server, tag="pulled")
    assert first["requests"] == len(SEEDS)
    assert again["cache_hits"] == len(SEEDS) and again["requests"] == 0
    assert pulled["requests"] == len(SEEDS) and pulled["cache_hits"] == 0
    assert max(server.answered.values()) == 2  # each seed: once for each set of weights


def test_a_listing_stamped_per_request_keeps_its_key_and_a_new_folder_changes_it(tmp_path):
    state = {"root": "/models/smollm2-135m"}
    with OpenAIServer(listing=vllm(state)) as server:
        fingerprint, entry = endpoint_identity(server.base_url, "none", "teacher-model")
        assert entry == {
            "id": "teacher-model",
            "object": "model",
            "owned_by": "vllm",
            "root": "/models/smollm2-135m",
            "parent": None,
            "max_model_len": 2048,
        }
        assert fingerprint.startswith(f"openai:{server.base_url}:")
        job(tmp_path, server, tag="first")
        _, again = job(tmp_path, server, tag="again")
        state["root"] = "/models/smollm2-360m"
        _, moved = job(tmp_path, server, tag="moved")
    assert again["requests"] == 0 and moved["requests"] == len(SEEDS)


def test_another_endpoint_is_asked_again_unless_the_name_is_trusted(tmp_path):
    state = {"pulled": 1_700_000_000}
    with OpenAIServer(listing=ollama(state)) as one, OpenAIServer(listing=ollama(state)) as other:
        job(tmp_path, one, tag="one")
        _, moved = job(tmp_path, other, tag="other")
        assert moved["requests"] == len(SEEDS)  # same listing, another server
        job(tmp_path, one, tag="named", cache_identity="name")
        state["pulled"] += 3600
        _, trusted = job(tmp_path, other, tag="trusted", cache_identity="name")
    assert trusted["cache_hits"] == len(SEEDS) and trusted["requests"] == 0
    assert trusted["answered_by_model"] == {"teacher-model": len(SEEDS)}
    assert trusted["system_fingerprints"] == {"fp_local": len(SEEDS)}


def test_a_model_the_server_does_not_list_is_keyed_by_endpoint_and_name_with_a_warning(tmp_path, caplog):
    with OpenAIServer() as server, caplog.at_level(logging.WARNING):  # lists only "local-teacher"
        fingerprint, entry = endpoint_identity(server.base_url, "none", "teacher-model", pause_s=0)
    assert entry is None and fingerprint == f"openai:{server.base_url}:teacher-model"
    assert "does not list model 'teacher-model'" in caplog.text


def test_stable_keeps_what_two_readings_agree_on():
    counter = itertools.count()
    first, second = (
        {"id": "m", "parent": None, "created": next(counter), "meta": {"size": 9, "t": next(counter)}} for _ in range(2)
    )
    assert stable(first, second) == {"id": "m", "parent": None, "meta": {"size": 9}}  # an agreed null is kept
