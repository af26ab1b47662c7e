"""The consent text people answer is versioned: changing the Spanish wording needs a new id."""
import hashlib

from flows.catalog import CONSENT_VERSIONS, catalogue, consent_version


def test_the_spanish_consent_text_matches_its_version():
    text = catalogue("es")["consent_ask"]
    version = consent_version()
    assert version in CONSENT_VERSIONS, f"consent_version {version!r} is not in CONSENT_VERSIONS"
    assert hashlib.sha256(text.encode()).hexdigest() == CONSENT_VERSIONS[version], (
        "the Spanish consent_ask changed: give it a new consent_version in flows/texts/es.yml "
        "and add that id with the new text's SHA-256 to flows/catalog.py CONSENT_VERSIONS")


def test_versions_are_distinct_texts():
    assert len(set(CONSENT_VERSIONS.values())) == len(CONSENT_VERSIONS)
