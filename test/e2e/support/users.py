"""Helpers shared by the account and address tests: Django's password
format computed independently with hashlib, and shortcuts to register, log
in and create users directly in df_user."""
import base64
import hashlib
import secrets
import string

from support.backends import sql
from support.http import Client, unique_name

PASSWORD = "fresh-Pass123"
SALT_CHARS = string.ascii_letters + string.digits


def django_hash(password, salt=None, iterations=260000):
    """What Django's PBKDF2PasswordHasher.encode writes."""
    salt = salt or "".join(secrets.choice(SALT_CHARS) for _ in range(22))
    dk = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return "pbkdf2_sha256$%d$%s$%s" % (iterations, salt, base64.b64encode(dk).decode())


def django_verify(password, encoded):
    """What Django's PBKDF2PasswordHasher.verify decides."""
    algorithm, iterations, salt, _ = encoded.split("$", 3)
    assert algorithm == "pbkdf2_sha256"
    return secrets.compare_digest(django_hash(password, salt, int(iterations)), encoded)


def register(client, name=None, pwd=PASSWORD, email="buyer@example.com", **extra):
    """Posts /user/register (cpwd = pwd, allow ticked unless overridden;
    a None value leaves the field out). Returns (name, response JSON)."""
    data = {"user_name": name or unique_name(), "pwd": pwd, "cpwd": pwd, "email": email, "allow": "on"}
    data.update(extra)
    data = {k: v for k, v in data.items() if v is not None}
    r = client.post_form("/user/register", data)
    assert r.status_code == 200, r.text
    return data.get("user_name"), r.json()


def login(client, name, pwd=PASSWORD, **extra):
    data = {"username": name, "pwd": pwd}
    data.update(extra)
    r = client.post_form("/user/login", data)
    assert r.status_code == 200, r.text
    return r.json()


def logged_in(name=None):
    """A new client logged in as a newly registered user: (client, name, user_id)."""
    c = Client()
    name, res = register(c, name)
    assert res["res"] == 8, res
    res = login(c, name)
    assert res["res"] == 5, res
    return c, name, res["user_id"]


def insert_user(name, password_hash, is_active=1, is_delete=0, email="old@example.com"):
    """A df_user row as Django would have written it; returns its id."""
    sql("INSERT INTO df_user (password, last_login, is_superuser, username, first_name, last_name, email, "
        "is_staff, is_active, date_joined, create_time, update_time, is_delete) "
        "VALUES (@p0, NULL, 0, @p1, '', '', @p2, 0, @p3, NOW(6), NOW(6), NOW(6), @p4)",
        password_hash, name, email, is_active, is_delete)
    return int(sql("SELECT id FROM df_user WHERE username = @p0", name)[0][0])


def user_id(name):
    return int(sql("SELECT id FROM df_user WHERE username = @p0", name)[0][0])
