# man/ -- kafkagate(8) in mdoc; paths substituted at build time.
man_MANS += man/kafkagate.8
CLEANFILES += man/kafkagate.8
EXTRA_DIST += man/kafkagate.8.in

man/kafkagate.8: $(top_srcdir)/man/kafkagate.8.in Makefile
	$(AM_V_at)$(MKDIR_P) man
	$(AM_V_GEN)$(SED) -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	    -e 's|@VERSION[@]|$(VERSION)|g' $(top_srcdir)/man/kafkagate.8.in > $@

if HAVE_MANDOC
check-local: man/kafkagate.8
	$(AM_V_at)$(MANDOC) -Tlint -Wwarning man/kafkagate.8
endif
