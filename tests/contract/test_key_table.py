"""The ``KeyTable`` port and ``AesGcmFieldCipher`` over it, on both backends' key tables."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from infra.backend import Backend
from infra.cipher import AesGcmFieldCipher, KeyTable
from ledger.errors import PolicyViolationError, VerificationError
from tests.conftest import KEK, Opened

TableFactory = Callable[[], KeyTable]
CipherFactory = Callable[..., AesGcmFieldCipher]
AAD = b"00000000-0000-4000-8000-000000000001/full_name"


@pytest.fixture
def open_table(backend: Backend, opened: Opened) -> TableFactory:
    return opened.track(backend.keys)


@pytest.fixture
def open_cipher(open_table: TableFactory) -> CipherFactory:
    """A cipher over a freshly opened key table (closed with the table after the test)."""
    return lambda kek=KEK: AesGcmFieldCipher(open_table(), kek)


# The table itself.


def test_unknown_subjects_are_left_out(open_table: TableFactory) -> None:
    assert open_table().load(["plr-1", "plr-2"]) == {}
    assert open_table().load([]) == {}


def test_inserted_keys_load_and_the_first_insert_wins(open_table: TableFactory) -> None:
    table = open_table()
    table.insert([("plr-1", "dk-1", b"wrapped-1"), ("plr-2", "dk-2", b"wrapped-2")])
    table.insert([("plr-1", "dk-other", b"other")])
    assert table.load(["plr-1", "plr-2", "plr-3"]) == {
        "plr-1": ("dk-1", b"wrapped-1"),
        "plr-2": ("dk-2", b"wrapped-2"),
    }


def test_keys_survive_reopening(open_table: TableFactory) -> None:
    first = open_table()
    first.insert([("plr-1", "dk-1", b"wrapped-1")])
    first.close()
    assert open_table().load(["plr-1"]) == {"plr-1": ("dk-1", b"wrapped-1")}


def test_destroy_leaves_a_tombstone_once(open_table: TableFactory) -> None:
    table = open_table()
    table.insert([("plr-1", "dk-1", b"wrapped-1")])
    assert table.destroy("plr-1", 1_767_225_600_000) is True
    assert table.load(["plr-1"]) == {"plr-1": ("dk-1", None)}
    assert table.destroy("plr-1", 1_767_225_600_001) is False
    table.insert([("plr-1", "dk-2", b"wrapped-2")])
    assert open_table().load(["plr-1"]) == {"plr-1": ("dk-1", None)}


def test_destroying_an_unknown_subject_reports_false_but_still_blocks_it(open_table: TableFactory) -> None:
    table = open_table()
    assert table.destroy("plr-9", 1_767_225_600_000) is False
    [(key_id, wrapped)] = table.load(["plr-9"]).values()
    assert wrapped is None
    table.insert([("plr-9", "dk-9", b"wrapped-9")])
    assert table.load(["plr-9"]) == {"plr-9": (key_id, None)}


# The cipher over it.


def test_encrypt_then_decrypt_round_trips(open_cipher: CipherFactory) -> None:
    cipher = open_cipher()
    sealed = cipher.encrypt([("plr-1", AAD, b"Maria Borg"), ("plr-2", AAD, "Ġużeppi".encode())])
    opened = cipher.decrypt(
        [(s, kid, nonce, ct, AAD) for s, (kid, nonce, ct) in zip(["plr-1", "plr-2"], sealed, strict=True)]
    )
    assert opened == [b"Maria Borg", "Ġużeppi".encode()]
    assert b"Maria" not in "".join(ct for _, _, ct in sealed).encode()


def test_each_subject_gets_one_key_kept_across_reopening(open_cipher: CipherFactory) -> None:
    first = open_cipher()
    (kid_1, nonce, ct), (kid_2, _, _) = first.encrypt([("plr-1", AAD, b"Maria"), ("plr-2", AAD, b"Maria")])
    ((again, _, _),) = first.encrypt([("plr-1", b"other/field", b"x")])
    assert kid_1 != kid_2
    assert again == kid_1
    first.close()
    reopened = open_cipher()
    assert reopened.decrypt([("plr-1", kid_1, nonce, ct, AAD)]) == [b"Maria"]
    assert reopened.encrypt([("plr-1", AAD, b"Maria")]) == [(kid_1, nonce, ct)]


def test_encryption_is_deterministic_per_subject_aad_and_plaintext(open_cipher: CipherFactory) -> None:
    cipher = open_cipher()
    base = cipher.encrypt([("plr-1", AAD, b"Maria")])[0]
    assert cipher.encrypt([("plr-1", AAD, b"Maria")])[0] == base
    others = cipher.encrypt(
        [("plr-1", AAD, b"Marie"), ("plr-1", b"another/aad", b"Maria"), ("plr-2", AAD, b"Maria")]
    )
    nonces = {base[1], *(nonce for _, nonce, _ in others)}
    assert len(nonces) == 4
    assert base[2] not in {ct for _, _, ct in others}


def test_an_erased_subject_opens_to_none_and_refuses_new_data(open_cipher: CipherFactory) -> None:
    cipher = open_cipher()
    ((kid, nonce, ct),) = cipher.encrypt([("plr-1", AAD, b"Maria")])
    assert cipher.erase("plr-1") is True
    assert cipher.erase("plr-1") is False
    for reader in (cipher, open_cipher()):
        assert reader.decrypt([("plr-1", kid, nonce, ct, AAD)]) == [None]
        with pytest.raises(PolicyViolationError, match="plr-1 was erased"):
            reader.encrypt([("plr-1", AAD, b"Maria")])


def test_erasing_a_subject_never_encrypted_refuses_its_data_later(open_cipher: CipherFactory) -> None:
    cipher = open_cipher()
    assert cipher.erase("plr-7") is False
    with pytest.raises(PolicyViolationError, match="plr-7 was erased"):
        cipher.encrypt([("plr-7", AAD, b"Maria")])


def test_a_field_of_an_unknown_subject_or_key_opens_to_none(open_cipher: CipherFactory) -> None:
    cipher = open_cipher()
    ((kid, nonce, ct),) = cipher.encrypt([("plr-1", AAD, b"Maria")])
    assert cipher.decrypt([("plr-2", kid, nonce, ct, AAD), ("plr-1", "dk-other", nonce, ct, AAD)]) == [
        None,
        None,
    ]


def test_the_wrong_kek_fails_clearly(open_cipher: CipherFactory) -> None:
    ((kid, nonce, ct),) = open_cipher().encrypt([("plr-1", AAD, b"Maria")])
    wrong = open_cipher(bytes(32))
    with pytest.raises(
        VerificationError, match=r"data key of subject plr-1 does not unwrap under the configured KEK"
    ):
        wrong.decrypt([("plr-1", kid, nonce, ct, AAD)])
    with pytest.raises(VerificationError, match="does not unwrap"):
        wrong.encrypt([("plr-1", AAD, b"Maria")])


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_a_kek_must_be_32_bytes(open_table: TableFactory, size: int) -> None:
    with pytest.raises(ValueError, match=f"must be 32 bytes, got {size}"):
        AesGcmFieldCipher(open_table(), bytes(size))
