"""Operations on a whole database: backup and restore, copy, check, pack and retention; and
prefetch, which has pip resolve requirements through the application (served on loopback).

ZODB's own machinery does the work underneath (repozo's incremental copies, pack with blob
garbage collection, ``copyTransactionsFrom``); the command line (``shop/scripts/``) and the
running server (for what must run inside it) call these modules.
"""
