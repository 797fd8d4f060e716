from darkness_visible.cli import main

raise SystemExit(main())
