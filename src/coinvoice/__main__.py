from coinvoice.cli import main

raise SystemExit(main())
