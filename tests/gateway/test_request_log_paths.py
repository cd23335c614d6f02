from crier.gateway.entrypoints.http.request_id import loggable_path


def test_pending_session_tokens_never_reach_logs() -> None:
    assert loggable_path("/api/v1/social-accounts/pending/tok_s3cret/finalize") == (
        "/api/v1/social-accounts/pending/[redacted]/finalize"
    )
    assert loggable_path("/api/v1/social-accounts/pending/tok_s3cret") == "/api/v1/social-accounts/pending/[redacted]"


def test_other_paths_are_logged_as_they_are() -> None:
    assert loggable_path("/api/v1/posts/p_1") == "/api/v1/posts/p_1"
