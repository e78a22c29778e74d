"""What start-up does to the tree: the root made on first use, what older databases lack
(counts, the audit log, the webhooks' delivery queue)."""
from __future__ import annotations

from BTrees.Length import Length

from shop.model.audit import AuditLog
from shop.model.blocks import Blocklist
from shop.model.root import APP_ROOT_KEY, DEFAULT_REPOSITORY, Root
from shop.model.stats import Stats
from shop.model.tree import Repository, stored_in
from shop.model.webhooks import Deliveries


def bootstrap(zodb_root, default_upstream: str | None, *, anonymous_read: bool = False,
              read_networks: tuple[str, ...] = ()) -> tuple[Root, bool]:
    """Return the application root, creating it (and repository ``default``) on first use."""
    root = zodb_root.get(APP_ROOT_KEY)
    if root is not None:
        ensure_audit_log(root)
        ensure_webhook_queue(root)
        ensure_blocklist(root)
        return root, False
    root = zodb_root[APP_ROOT_KEY] = Root()
    if zodb_root._p_jar is not None:  # in its connection at once: changes recorded in this
        zodb_root._p_jar.add(root)  # same transaction find it (shop.model.events)
    ensure_webhook_queue(root)
    default = Repository("Default", upstream=default_upstream)
    default.anonymous_read = anonymous_read
    default.read_networks = read_networks
    root.repositories.add(DEFAULT_REPOSITORY, default)
    return root, True


def ensure_stored_counts(repository: Repository) -> bool:
    """Count the stored files of a repository made before it counted them (walks it once)."""
    repository._p_activate()
    if "stored_files" in repository.__dict__:
        return False
    repository.stored_files, repository.stored_bytes = Length(), Length()
    for package in repository.values():
        repository.count_stored(*stored_in(package))
    return True


def ensure_stats(root: Root) -> bool:
    """Give a root made before the dashboard kept its history an empty one."""
    if root.stats is not None:
        return False
    root.stats = Stats()
    return True


def ensure_audit_log(root: Root) -> bool:
    """Give a root made before the audit log its (empty) log."""
    root._p_activate()
    if "audit" in root.__dict__:
        return False
    root.audit = AuditLog()
    root.audit.__parent__ = root
    return True


def ensure_webhook_queue(root: Root) -> bool:
    """Give a root made before webhooks their delivery queue."""
    if root.webhooks is not None:
        return False
    root.webhooks = Deliveries()
    return True


def ensure_blocklist(root: Root) -> bool:
    """Give a root made before blocks existed its (empty) block list."""
    if root.blocklist is not None:
        return False
    root.blocklist = Blocklist()
    return True
