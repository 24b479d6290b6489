"""The hardened XML parser every incoming 2030.5 body goes through first.

2030.5 documents never need a DTD, entities, external resources, comments or processing
instructions, so the parser refuses or drops all of them, in an order that keeps the work
bounded by the body size:

1. a body over ``max_body_bytes`` is refused before anything looks inside it (HTTP 413);
2. a body in UTF-16 or UTF-32 is refused, and everything else is parsed as UTF-8 whatever
   its XML declaration says: 2030.5 documents are UTF-8, and this makes step 3 exact;
3. a ``<!DOCTYPE`` anywhere in the body is refused before parsing: no DTD, so no entity
   expansion (billion laughs), no external entity and no external DTD can ever be loaded;
4. libxml2 parses with entity substitution, DTD loading and network access off, its own
   amplification limit on, its default depth cap (256), and a resolver that answers any
   request for an external resource with nothing; the DOCTYPE check is repeated on the
   parsed document as a second line;
5. nesting deeper than ``max_depth`` is refused (one XPath in C, no Python walk).

(lxml's ``collect_ids=False`` makes libxml2 load a document's external DTD subset even
with ``load_dtd=False``, so it is deliberately not used.)

The parser and its XPath are kept per thread: lxml parsers must not be shared between
threads, and a gateway may parse in a thread pool.
"""

from __future__ import annotations

import threading

from lxml import etree

from sep2.errors import Sep2ParseError

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class _NothingExternal(etree.Resolver):  # type: ignore[misc]
    """Answers every request for an external resource (DTD, entity) with nothing."""

    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        return self.resolve_empty(context)


class SafeXmlParser:
    """Parses untrusted bytes into an lxml element, or refuses them with a Sep2ParseError."""

    def __init__(self, *, max_body_bytes: int, max_depth: int) -> None:
        self.max_body_bytes = max_body_bytes
        self.max_depth = max_depth
        self._local = threading.local()

    def _tools(self) -> tuple[etree.XMLParser, etree.XPath]:
        tools: tuple[etree.XMLParser, etree.XPath] | None = getattr(self._local, "tools", None)
        if tools is None:
            parser = etree.XMLParser(
                encoding="utf-8",
                resolve_entities=False,
                no_network=True,
                load_dtd=False,
                dtd_validation=False,
                huge_tree=False,
                remove_comments=True,
                remove_pis=True,
            )
            parser.resolvers.add(_NothingExternal())
            # True if any element sits one level below the deepest allowed.
            too_deep = etree.XPath("boolean(/*" + "/*" * self.max_depth + ")")
            tools = (parser, too_deep)
            self._local.tools = tools
        return tools

    def parse(self, body: bytes) -> etree._Element:
        """The root element of ``body``; raises Sep2ParseError for anything unsafe or not XML."""
        if len(body) > self.max_body_bytes:
            raise Sep2ParseError(
                f"body of {len(body)} bytes exceeds the limit of {self.max_body_bytes} bytes",
                http_status=413,
            )
        if body[:2] in _UTF16_BOMS or b"\x00" in body[:4]:
            raise Sep2ParseError("not UTF-8: 2030.5 documents are UTF-8 (UTF-16/32 refused)")
        if b"<!DOCTYPE" in body:
            raise Sep2ParseError("a DOCTYPE (DTD) is not allowed in a 2030.5 document")
        if not body or body.isspace():
            raise Sep2ParseError("empty body: expected a 2030.5 XML document")
        parser, too_deep = self._tools()
        try:
            root = etree.fromstring(body, parser)
        except etree.XMLSyntaxError as exc:
            message = str(exc.msg or exc)
            if "depth" in message.lower():
                raise Sep2ParseError(
                    f"elements nested deeper than {self.max_depth} levels"
                ) from None
            raise Sep2ParseError(f"not well-formed XML: {message}") from None
        if root.getroottree().docinfo.doctype:
            raise Sep2ParseError("a DOCTYPE (DTD) is not allowed in a 2030.5 document")
        if too_deep(root):
            raise Sep2ParseError(f"elements nested deeper than {self.max_depth} levels")
        return root
