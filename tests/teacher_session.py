"""A teacher session over clients the test made (a local server's), for the request machinery's tests."""

from ossinstruct.config import section_defaults
from ossinstruct.teacher.endpoint import Endpoint
from ossinstruct.teacher.session import TeacherSession
from ossinstruct.teacher.tokens import estimate_tokens


def session(
    clients,
    cache,
    *,
    base_url="",
    client=None,
    mode="online",
    batch=None,
    price=None,
    count_tokens=estimate_tokens,
    fingerprint="",
    cap=None,
    check=None,
) -> TeacherSession:
    """`client` and `batch` go over the schema's defaults, as a validated config has them."""
    endpoint = Endpoint(list(clients), count_tokens, fingerprint, base_url, check or (lambda: None))
    teacher = {
        "client": section_defaults("teacher.client") | (client or {}),
        "mode": mode,
        "batch": section_defaults("teacher.batch") | (batch or {}),
    }
    return TeacherSession(endpoint, cache, teacher, price, cap)


def validated_teacher(**keys) -> dict:
    """A teacher section as a validated config holds it: `keys` over the schema's defaults (a nested
    section such as `client` merged key by key)."""
    teacher = section_defaults("teacher")
    for key, value in keys.items():
        teacher[key] = (
            {**teacher[key], **value} if isinstance(value, dict) and key in ("client", "batch", "serve") else value
        )
    return teacher


def teacher_job(**keys) -> dict:
    """`generate.run`'s settings and how for a teacher section, as the rule and its adapter give them."""
    from ossinstruct.config import split_how
    from ossinstruct.models import request_settings

    teacher = validated_teacher(**keys)
    return {"settings": request_settings(teacher), "how": split_how("teacher", teacher)[1]}
