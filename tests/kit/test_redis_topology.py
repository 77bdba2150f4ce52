"""SPATIALVIZ_REDIS_URL names one node, a cluster or Sentinel; Celery refuses a cluster or
a redis+sentinel:// URL as broker."""

from __future__ import annotations

import pytest

from spatialviz.config import ConfigError, Settings
from spatialviz.job.celery_app import create_celery
from spatialviz.kit.redis_topology import (
    RedisUrlError,
    is_cluster_url,
    limits_storage_uri,
    parse_cluster_url,
    parse_sentinel_url,
    topology,
)


def test_cluster_url_names_nodes_and_credentials() -> None:
    target = parse_cluster_url("redis+cluster://app:p%40ss@10.0.0.1:7000,cache-2:7001/")
    assert target.nodes == (("10.0.0.1", 7000), ("cache-2", 7001))
    assert (target.username, target.password, target.ssl) == ("app", "p@ss", False)
    assert parse_cluster_url("rediss+cluster://h").nodes == (("h", 6379),)
    assert parse_cluster_url("rediss+cluster://h").ssl


@pytest.mark.parametrize(
    "url",
    ["redis+cluster://h:1/3", "redis+cluster://h:port", "redis+cluster://", "redis://h:1"],
)
def test_bad_cluster_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(RedisUrlError, match="SPATIALVIZ_REDIS_URL"):
        parse_cluster_url(url)


def test_limits_gets_the_same_nodes() -> None:
    assert limits_storage_uri("redis+cluster://a:1,b:2/") == ("async+redis+cluster://a:1,b:2", {})
    assert limits_storage_uri("rediss+cluster://a:1") == (
        "async+redis+cluster://a:1",
        {"ssl": True},
    )
    assert limits_storage_uri("redis://a:1/2") == ("async+redis://a:1/2", {})
    assert is_cluster_url("REDIS+CLUSTER://a")
    assert not is_cluster_url("redis://a")


def test_celery_refuses_a_cluster_as_broker_in_one_line() -> None:
    with pytest.raises(ConfigError) as refused:
        Settings(celery_broker_url="redis+cluster://a:1,b:2")
    assert "SPATIALVIZ_CELERY_BROKER_URL" in str(refused.value)
    assert "\n" not in str(refused.value)
    with pytest.raises(ConfigError, match="SPATIALVIZ_CELERY_BROKER_URL"):
        Settings(jobs_backend="celery", redis_url="redis+cluster://a:1")


def test_a_cluster_for_cache_with_rabbitmq_for_jobs() -> None:
    settings = Settings(redis_url="redis+cluster://a:1", celery_broker_url="amqp://mq//")
    assert settings.broker_url == "amqp://mq//"
    assert settings.uses_celery
    # A cluster alone is never taken for a broker.
    assert Settings(redis_url="redis+cluster://a:1").broker_url is None


def test_celery_result_backend_never_a_cluster() -> None:
    settings = Settings(redis_url="redis+cluster://a:1", celery_broker_url="amqp://mq//")
    assert create_celery(settings).conf.result_backend is None


def test_sentinel_url_names_sentinels_master_and_database() -> None:
    target = parse_sentinel_url("redis+sentinel://app:p%40ss@s1:26380,s2/mymaster/3")
    assert target.sentinels == (("s1", 26380), ("s2", 26379))
    assert (target.master_name, target.db) == ("mymaster", 3)
    assert (target.username, target.password, target.ssl) == ("app", "p@ss", False)
    assert parse_sentinel_url("rediss+sentinel://s/m").ssl
    assert parse_sentinel_url("redis+sentinel://s/m/").db == 0
    assert topology("REDIS+SENTINEL://s/m") == "sentinel"
    assert topology("redis+cluster://a") == "cluster"
    assert topology("redis://a") == "single"


@pytest.mark.parametrize(
    "url", ["redis+sentinel://s:1", "redis+sentinel://s:1/m/x", "redis+sentinel:///m", "redis://s"]
)
def test_bad_sentinel_urls_are_refused_naming_the_setting(url: str) -> None:
    with pytest.raises(RedisUrlError, match="SPATIALVIZ_REDIS_URL"):
        parse_sentinel_url(url)


def test_limits_gets_the_same_sentinels_and_the_database_as_an_option() -> None:
    uri, options = limits_storage_uri("redis+sentinel://u:p@s1:1,s2:2/mymaster/3", 2.0)
    assert uri == "async+redis+sentinel://u:p@s1:1,s2:2/mymaster"
    assert options["db"] == 3
    assert options["use_replicas"] is False
    to_sentinels = options["sentinel_kwargs"]
    assert (to_sentinels["socket_timeout"], to_sentinels["socket_connect_timeout"]) == (2.0, 2.0)
    assert to_sentinels["retry"].get_retries() == 0  # the next sentinel is the retry


def test_a_sentinel_url_is_never_taken_for_celery() -> None:
    settings = Settings(redis_url="redis+sentinel://s:1/m", celery_broker_url="amqp://mq//")
    assert create_celery(settings).conf.result_backend is None
    assert Settings(redis_url="redis+sentinel://s:1/m").broker_url is None
    with pytest.raises(ConfigError, match="SPATIALVIZ_CELERY_SENTINEL_MASTER"):
        Settings(celery_broker_url="redis+sentinel://s:1/m")
