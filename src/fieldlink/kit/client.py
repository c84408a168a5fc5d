"""The plumbing every family's client shares: a link, a session, one lock, a goodbye.

A family's client is its methods -- each one conversation -- on top of
:class:`Client` (blocking) or :class:`AsyncClient` (asyncio), which own opening the
link from a URL, running conversations through :mod:`fieldlink.kit.drive` one
exchange at a time, and closing: with a goodbye when the family has one (PakBus'
Bye), then the link, whatever happens.  Two more hooks are the family's to
override: ``opened``, a handshake run once the link is open (Batlab's connect
sequence), and ``lost``, what to raise when the link closes under a conversation
(Batlab says that its unit was unplugged).

``AsyncX.from_url(...)`` returns an :class:`AsyncOpen`: ``x = await X.from_url(url)``
and ``async with X.from_url(url) as x:`` both work.

A method that only turns its arguments into a conversation is written once, for
both clients, as a :class:`Call` (or :class:`Streamed`) on a mixin the two share::

    class _Calls:
        settings = Call(ops.read_settings)   # tdr.settings() / await tdr.settings()

asyncio and the asyncio links are imported when an :class:`AsyncClient` is first
made: a blocking command (``fieldlink logger gettime``) does not load them.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Generator, Iterator
from types import MethodType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from fieldlink.errors import FieldlinkError, LinkClosed
from fieldlink.kit import drive
from fieldlink.kit.converse import Operation, Stream
from fieldlink.link.sync import Link, open_link

if TYPE_CHECKING:
    import asyncio

    from fieldlink.link.aio import AsyncLink

__all__ = ["AsyncClient", "AsyncOpen", "Call", "Client", "Method", "Streamed"]

T = TypeVar("T")
P = ParamSpec("P")
L = TypeVar("L", Link, "AsyncLink")
K = TypeVar("K")
C = TypeVar("C", bound="AsyncClient")
BC = TypeVar("BC", bound="Client")
R_co = TypeVar("R_co", covariant=True)


class _Hooks(Generic[L, K]):
    """What both clients share: the link (``L``), the session, the lock (``K``) that
    keeps one exchange at a time, and the hooks (their defaults do nothing)."""

    #: Makes the lock: a thread lock for the blocking client, an asyncio one for its twin.
    _new_lock: Callable[[], K]

    def __init__(self, link: L, session: Any) -> None:
        self.link: L = link
        self.session = session
        self._lock = type(self)._new_lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.link!r})"

    def goodbye(self) -> Operation[None] | None:
        """The conversation that ends a session politely, if the family has one."""
        return None

    def lost(self, error: LinkClosed) -> FieldlinkError:
        """What to raise when the link closes under a conversation (default: ``error``)."""
        return error

    @contextlib.contextmanager
    def _watch(self) -> Iterator[None]:
        try:
            yield
        except LinkClosed as exc:
            if (error := self.lost(exc)) is exc:
                raise
            raise error from exc


class Client(_Hooks[Link, threading.RLock]):
    """A blocking client of one instrument over one link (subclass it with its methods;
    ``Client.__init__(self, link, session)``)."""

    _new_lock = threading.RLock

    @classmethod
    def open(cls, url: str, *, link_timeout: float, **kwargs: Any) -> Self:
        """Open ``url`` and make the client with ``kwargs``; the link is closed if that fails."""
        link = open_link(url, timeout=link_timeout)
        try:
            client = cls(link, **kwargs)
            client.opened()
            return client
        except BaseException:
            link.close()
            raise

    def opened(self) -> None:
        """The family's handshake, run by :meth:`open` once the client is made (default none)."""

    def run(self, operation: Operation[T]) -> T:
        """Run one conversation on this link and return its result."""
        with self._watch():
            return drive.run(self.link, self.session, operation, guard=self._lock)

    def stream(self, operation: Stream) -> Iterator[Any]:
        """Run a streaming conversation, yielding its items as they arrive."""
        with self._watch():
            yield from drive.stream(self.link, self.session, operation, guard=self._lock)

    def close(self) -> None:
        """Say goodbye (best effort) and close the link."""
        if self.link.closed:
            return
        try:
            if (bye := self.goodbye()) is not None:
                self.run(bye)
        except FieldlinkError:
            pass
        finally:
            self.link.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncClient(_Hooks["AsyncLink", "asyncio.Lock"]):
    """The asyncio twin of :class:`Client`."""

    @staticmethod
    def _new_lock() -> asyncio.Lock:
        import asyncio

        return asyncio.Lock()

    @classmethod
    def open(cls, url: str, *, link_timeout: float, **kwargs: Any) -> AsyncOpen[Self]:
        """Open ``url`` and make the client with ``kwargs``, when awaited or entered."""

        async def opener() -> Self:
            from fieldlink.link.aio import open_async_link

            link = await open_async_link(url, timeout=link_timeout)
            try:
                client = cls(link, **kwargs)
                await client.opened()
                return client
            except BaseException:
                await link.close()
                raise

        return AsyncOpen(opener)

    async def opened(self) -> None:
        """The family's handshake, run by :meth:`open` once the client is made (default none)."""

    async def run(self, operation: Operation[T]) -> T:
        with self._watch():
            return await drive.run_async(self.link, self.session, operation, guard=self._lock)

    async def stream(self, operation: Stream) -> AsyncIterator[Any]:
        items = drive.stream_async(self.link, self.session, operation, guard=self._lock)
        with self._watch():
            async with contextlib.aclosing(items):
                async for item in items:
                    yield item

    async def close(self) -> None:
        if self.link.closed:
            return
        try:
            if (bye := self.goodbye()) is not None:
                await self.run(bye)
        except FieldlinkError:
            pass
        finally:
            await self.link.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


class AsyncOpen(Generic[C]):
    """An asyncio client being opened: ``await`` it, or ``async with`` it."""

    def __init__(self, opener: Callable[[], Awaitable[C]]) -> None:
        self._opener = opener
        self._client: C | None = None

    def __await__(self) -> Generator[Any, None, C]:
        return self._opener().__await__()

    async def __aenter__(self) -> C:
        self._client = await self._opener()
        return self._client

    async def __aexit__(self, *exc_info: object) -> None:
        if self._client is not None:
            await self._client.close()


def _as_method(build: Callable[P, R_co]) -> Callable[Concatenate[Any, P], R_co]:
    """``build`` as a method that ignores its client, showing ``build``'s signature
    behind the client's place (so ``help()`` of the bound method reads right)."""

    def method(client: Any, /, *args: P.args, **kwargs: P.kwargs) -> R_co:
        return build(*args, **kwargs)

    functools.update_wrapper(method, build)
    signature = inspect.signature(build)
    self = inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[self, *signature.parameters.values()]
    )
    return method


class Method(Generic[P, T]):
    """A client method written once for both clients, as ``build(client, ...)``, which
    makes its conversation: a :class:`Client` runs it (the method returns the result),
    an :class:`AsyncClient` awaits it (the method is a coroutine function).  Used as a
    decorator on the mixin both clients share::

        @Method
        def status(self) -> Operation[Status]:
            return ops.status(self.unit)

    ``build`` runs when the method is called (in the coroutine, for the asyncio twin),
    so a bad argument fails before anything is sent.  Both functions are made once and
    carry ``build``'s name, signature and docstring, for ``help()`` and for mypy.
    """

    def __init__(self, build: Callable[Concatenate[Any, P], Operation[T]]) -> None:
        @functools.wraps(build)
        def blocking(client: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
            return client.run(build(client, *args, **kwargs))

        @functools.wraps(build)
        async def awaited(client: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
            return await client.run(build(client, *args, **kwargs))

        self._blocking, self._awaited = blocking, awaited

    @overload
    def __get__(self, client: None, owner: type[BC]) -> Callable[Concatenate[BC, P], T]: ...
    @overload
    def __get__(
        self, client: None, owner: type[C]
    ) -> Callable[Concatenate[C, P], Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, client: Client, owner: type[Any]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, client: AsyncClient, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, client: object, owner: type[Any] | None = None) -> Any:
        awaits = issubclass(owner or type(client), AsyncClient)
        method = self._awaited if awaits else self._blocking
        return method if client is None else MethodType(method, client)


class Call(Method[P, T]):
    """A :class:`Method` whose conversation needs only the arguments, not the client::

    settings = Call(ops.read_settings)   # tdr.settings() / await tdr.settings()
    """

    def __init__(self, build: Callable[P, Operation[T]]) -> None:
        super().__init__(_as_method(build))


class Streamed(Generic[P, T]):
    """A streaming method written once for both clients: an iterator of ``T`` (an async
    iterator on an :class:`AsyncClient`) over the conversation ``build(client, ...)``
    makes.  :meth:`of_arguments` is the form whose conversation ignores the client."""

    def __init__(self, build: Callable[Concatenate[Any, P], Stream], item: type[T]) -> None:
        @functools.wraps(build)
        def streamed(client: Any, /, *args: P.args, **kwargs: P.kwargs) -> Any:
            return client.stream(build(client, *args, **kwargs))

        self._streamed = streamed  # ``item`` only tells the type checker what is yielded

    @classmethod
    def of_arguments(cls, build: Callable[P, Stream], item: type[T]) -> Streamed[P, T]:
        return cls(_as_method(build), item)

    @overload
    def __get__(self, client: None, owner: type[Any]) -> Callable[..., Any]: ...
    @overload
    def __get__(self, client: Client, owner: type[Any]) -> Callable[P, Iterator[T]]: ...
    @overload
    def __get__(self, client: AsyncClient, owner: type[Any]) -> Callable[P, AsyncIterator[T]]: ...
    def __get__(self, client: object, owner: type[Any] | None = None) -> Any:
        return self._streamed if client is None else MethodType(self._streamed, client)
